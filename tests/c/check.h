/* Small test harness for the C ABI tests: checks that report where they failed, status checks
 * that also verify the error object, and a watchdog so that no test hangs. */
#ifndef PROCESSES_TEST_CHECK_H
#define PROCESSES_TEST_CHECK_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "processes.h"

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);     \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* Checks a status and the error object that came with it: none on success; on failure one
 * whose status matches and whose message is not empty and contains `needle` (if given). */
static inline void check_status(prc_status got, prc_status want, prc_error *error,
                                const char *needle, const char *call, const char *file,
                                int line)
{
    const char *message = prc_error_message(error);
    if (got != want) {
        fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", file, line, call,
                prc_status_name(got), prc_status_name(want), message ? message : "no error");
        exit(1);
    }
    if (want == PRC_STATUS_OK) {
        if (error != NULL) {
            fprintf(stderr, "%s:%d: %s succeeded but wrote an error\n", file, line, call);
            exit(1);
        }
        return;
    }
    if (error == NULL || prc_error_status(error) != want || message == NULL ||
        message[0] == '\0') {
        fprintf(stderr, "%s:%d: %s: missing or inconsistent error object\n", file, line, call);
        exit(1);
    }
    if (needle != NULL && strstr(message, needle) == NULL) {
        fprintf(stderr, "%s:%d: %s: message \"%s\" lacks \"%s\"\n", file, line, call, message,
                needle);
        exit(1);
    }
    prc_error_free(error);
}

/* EXPECT(PRC_STATUS_X, prc_fn, args...) calls prc_fn(args..., &error) and checks the result. */
#define EXPECT(want, fn, ...)                                                              \
    do {                                                                                   \
        prc_error *expect_error_ = NULL;                                                   \
        prc_status expect_got_ = fn(__VA_ARGS__, &expect_error_);                          \
        check_status(expect_got_, want, expect_error_, NULL, #fn, __FILE__, __LINE__);     \
    } while (0)

/* Like EXPECT, and the error message must contain `needle`. */
#define EXPECT_MSG(want, needle, fn, ...)                                                  \
    do {                                                                                   \
        prc_error *expect_error_ = NULL;                                                   \
        prc_status expect_got_ = fn(__VA_ARGS__, &expect_error_);                          \
        check_status(expect_got_, want, expect_error_, needle, #fn, __FILE__, __LINE__);   \
    } while (0)

#define OK(fn, ...) EXPECT(PRC_STATUS_OK, fn, __VA_ARGS__)

/* Kills the test (SIGALRM) if it runs longer than `seconds`: every test has a timeout. */
static inline void watchdog(unsigned seconds)
{
    alarm(seconds);
}

/* A fresh integer value for a call that copies it. */
static inline prc_value *int_value(int64_t v)
{
    prc_value *value = prc_value_new_int(v);
    CHECK(value != NULL);
    return value;
}

static inline int64_t int_of(const prc_value *value)
{
    int64_t out = 0;
    OK(prc_value_as_int, value, &out);
    return out;
}

#endif
