/* Host-driven runs: the host pulls ready tasks, reads their arguments and completes them,
 * from its own threads; waiting, in-flight limits, cancellation and wrong-state calls. */
#include <pthread.h>
#include <time.h>

#include "check.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void add(prc_process_builder *b, const char *name, const char *on, prc_injection how,
                const char *arg_name)
{
    prc_task *t = NULL;
    OK(prc_task_new, name, NULL, NULL, NULL, &t);
    OK(prc_task_set_function, t, "host_fn");
    prc_value *one = int_value(1);
    OK(prc_task_add_arg, t, one);
    OK(prc_task_set_kwarg, t, "base", one);
    prc_value_free(one);
    if (on != NULL) {
        OK(prc_task_add_dependency, t, on, how, arg_name);
    }
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
}

static prc_process *graph(void)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "hosted", &b);
    add(b, "c", "b", PRC_INJECTION_BOTH, "prev");
    add(b, "b", "a", PRC_INJECTION_POSITIONAL, NULL);
    add(b, "a", NULL, 0, NULL);
    add(b, "bad", NULL, 0, NULL);
    add(b, "after_bad", "bad", PRC_INJECTION_NONE, NULL);
    add(b, "async", "a", PRC_INJECTION_NAMED, "from_a");
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_process_builder_free(b);
    return p;
}

struct later {
    prc_completion *completion;
    int64_t value;
    prc_status status;
};

static void *complete_later(void *arg)
{
    struct later *l = arg;
    sleep_ms(10);
    prc_value *v = int_value(l->value);
    l->status = prc_completion_succeed(l->completion, v, NULL);
    prc_value_free(v);
    prc_completion_free(l->completion);
    return NULL;
}

/* Sum of the positional arguments plus the named ones. */
static int64_t total(const prc_assignment *a)
{
    int64_t sum = 0;
    const prc_value *v = NULL;
    for (size_t i = 0; i < prc_assignment_arg_count(a); i++) {
        OK(prc_assignment_arg, a, i, &v);
        sum += int_of(v);
    }
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_assignment_arg, a, prc_assignment_arg_count(a), &v);
    const char *name = NULL;
    for (size_t i = 0; i < prc_assignment_kwarg_count(a); i++) {
        OK(prc_assignment_kwarg_at, a, i, &name, &v);
        sum += int_of(v);
    }
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_assignment_kwarg_at, a, 9, &name, &v);
    OK(prc_assignment_kwarg, a, "base", &v);
    CHECK(int_of(v) == 1);
    EXPECT(PRC_STATUS_NOT_FOUND, prc_assignment_kwarg, a, "missing", &v);
    return sum;
}

static void test_hosted_run(void)
{
    prc_process *p = graph();
    prc_run_options *o = prc_run_options_new();
    OK(prc_run_options_set_max_in_flight, o, 2);
    prc_hosted_run *run = NULL;
    OK(prc_process_start_hosted, p, o, &run);
    prc_run_options_free(o);

    /* While it runs, the process cannot be run again or changed. */
    CHECK(prc_process_is_running(p));
    prc_hosted_run *second = NULL;
    EXPECT_MSG(PRC_STATUS_RUNNING, "already running", prc_process_start_hosted, p, NULL,
               &second);
    prc_report *r = NULL;
    EXPECT(PRC_STATUS_RUNNING, prc_process_run, p, NULL, &r);
    EXPECT_MSG(PRC_STATUS_RUNNING, "while it runs", prc_process_remove_task, p, "c");
    EXPECT_MSG(PRC_STATUS_NOT_FINISHED, "has not finished", prc_hosted_run_report, run, &r);

    struct later later = {0};
    pthread_t thread;
    bool threaded = false;
    int results_a = 0, handed = 0;
    for (;;) {
        uint32_t readiness = 99;
        OK(prc_hosted_run_wait, run, 2.0, &readiness);
        if (readiness == PRC_READINESS_FINISHED) {
            break;
        }
        CHECK(readiness == PRC_READINESS_READY);
        prc_assignment *items[8];
        size_t count = 0;
        OK(prc_hosted_run_next_batch, run, items, 8, &count);
        CHECK(count <= 2 && prc_hosted_run_in_flight(run) <= 2);
        for (size_t i = 0; i < count; i++) {
            prc_assignment *a = items[i];
            const char *name = prc_assignment_name(a);
            handed++;
            CHECK(strcmp(prc_assignment_function(a), "host_fn") == 0);
            CHECK(prc_assignment_attempt(a) == 1 && prc_assignment_index(a) < 6);
            int64_t sum = total(a);
            if (strcmp(name, "bad") == 0) {
                EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_fail, a, NULL, NULL, NULL,
                       NULL);
                OK(prc_assignment_fail, a, "HostError", "the host said no", "host stack",
                   "host.c:1");
            } else if (strcmp(name, "async") == 0) {
                CHECK(sum == 1 + 1 + 10); /* arg, base, from_a */
                OK(prc_assignment_completion, a, &later.completion);
                later.value = 7;
                CHECK(pthread_create(&thread, NULL, complete_later, &later) == 0);
                threaded = true;
            } else {
                prc_value *v = int_value(strcmp(name, "a") == 0 ? 10 : sum);
                OK(prc_assignment_succeed, a, v);
                EXPECT(PRC_STATUS_ALREADY_COMPLETED, prc_assignment_succeed, a, v);
                prc_value_free(v);
                results_a += strcmp(name, "a") == 0;
            }
            prc_assignment_free(a);
        }
    }
    CHECK(threaded && pthread_join(thread, NULL) == 0 && later.status == PRC_STATUS_OK);
    CHECK(handed == 5 && results_a == 1); /* after_bad is skipped, never handed out */
    CHECK(prc_hosted_run_is_finished(run) && prc_hosted_run_in_flight(run) == 0);

    OK(prc_hosted_run_report, run, &r);
    prc_report *again = NULL;
    OK(prc_hosted_run_report, run, &again);
    prc_report_free(again);
    const prc_entry *e = NULL;
    OK(prc_report_find, r, "c", &e);
    /* b = 1 + base 1 + a 10 = 12; c = 1 + base 1 + prev 12 (positional) + prev 12 (named). */
    CHECK(int_of(prc_entry_result(e)) == 26);
    OK(prc_report_find, r, "async", &e);
    CHECK(int_of(prc_entry_result(e)) == 7);
    OK(prc_report_find, r, "bad", &e);
    CHECK(strcmp(prc_entry_error_kind(e), "HostError") == 0);
    CHECK(strcmp(prc_entry_error_location(e), "host.c:1") == 0);
    OK(prc_report_find, r, "after_bad", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_SKIPPED);
    prc_report_free(r);
    prc_hosted_run_free(run);
    CHECK(!prc_process_is_running(p));
    OK(prc_process_remove_task, p, "c"); /* changes are allowed again */
    prc_process_free(p);
}

static void *cancel_later(void *arg)
{
    sleep_ms(30);
    OK(prc_hosted_run_cancel, (prc_hosted_run *)arg);
    return NULL;
}

static void test_wait_timeout_and_cancel(void)
{
    prc_process *p = graph();
    prc_hosted_run *run = NULL;
    OK(prc_process_start_hosted, p, NULL, &run);
    prc_assignment *items[8];
    size_t count = 0;
    OK(prc_hosted_run_next_batch, run, items, 8, &count);
    CHECK(count == 2); /* a and bad: the roots */
    size_t none = 5;
    OK(prc_hosted_run_next_batch, run, NULL, 0, &none);
    CHECK(none == 0);

    /* Nothing else is ready until the roots complete. */
    uint32_t readiness = 99;
    OK(prc_hosted_run_wait, run, 0.02, &readiness);
    CHECK(readiness == PRC_READINESS_TIMED_OUT);

    /* A wait with no limit wakes when another thread cancels. */
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, cancel_later, run) == 0);
    OK(prc_hosted_run_wait, run, -1.0, &readiness);
    CHECK(readiness == PRC_READINESS_FINISHED);
    CHECK(pthread_join(thread, NULL) == 0);
    EXPECT_MSG(PRC_STATUS_ABANDONED, "run cancelled", prc_assignment_succeed, items[0], NULL);
    prc_completion *completion = NULL;
    OK(prc_assignment_completion, items[1], &completion);
    EXPECT(PRC_STATUS_ABANDONED, prc_completion_fail, completion, NULL, "late", NULL, NULL);
    prc_completion_free(completion);
    OK(prc_hosted_run_next_batch, run, items + 2, 6, &count);
    CHECK(count == 0);
    prc_assignment_free(items[0]);
    prc_assignment_free(items[1]);

    prc_report *r = NULL;
    OK(prc_hosted_run_report, run, &r);
    CHECK(prc_report_was_cancelled(r));
    prc_counts counts;
    OK(prc_report_counts, r, &counts);
    CHECK(counts.cancelled == 6);
    prc_report_free(r);
    prc_hosted_run_free(run);

    /* Freeing an unfinished run cancels it and frees the process for a new run. */
    OK(prc_process_start_hosted, p, NULL, &run);
    OK(prc_hosted_run_next_batch, run, items, 1, &count);
    CHECK(count == 1);
    prc_hosted_run_free(run);
    CHECK(!prc_process_is_running(p));
    EXPECT(PRC_STATUS_ABANDONED, prc_assignment_succeed, items[0], NULL);
    prc_assignment_free(items[0]);
    prc_process_free(p);
}

static void test_arguments(void)
{
    prc_process *p = graph();
    prc_hosted_run *run = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_start_hosted, p, NULL, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_start_hosted, NULL, NULL, &run);
    prc_run_options *o = prc_run_options_new();
    OK(prc_run_options_set_max_workers, o, 1);
    OK(prc_process_start_hosted, p, o, &run);
    prc_run_options_free(o);
    prc_process_free(p); /* the run does not borrow the process */
    size_t count = 0;
    prc_assignment *items[2];
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_next_batch, run, NULL, 2, &count);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_next_batch, run, items, 2, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_next_batch, NULL, items, 2, &count);
    uint32_t readiness = 0;
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_hosted_run_wait, run, 0.0 / 0.0, &readiness);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_wait, run, 1.0, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_wait, NULL, 1.0, &readiness);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_cancel, NULL);
    prc_report *r = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_report, NULL, &r);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_hosted_run_report, run, NULL);
    CHECK(!prc_hosted_run_is_finished(NULL) && prc_hosted_run_in_flight(NULL) == 0);

    OK(prc_hosted_run_next_batch, run, items, 2, &count);
    CHECK(count == 1); /* max_workers 1 limits what is in flight */
    const prc_value *v = NULL;
    const char *name = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_arg, items[0], 0, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_arg, NULL, 0, &v);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_kwarg_at, items[0], 0, NULL, &v);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_kwarg_at, items[0], 0, &name, NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_assignment_kwarg, items[0], "\xff", &v);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`assignment`", prc_assignment_kwarg, NULL, "base",
               &v);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_completion, items[0], NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_assignment_fail, items[0], NULL, "\xfe", NULL, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_assignment_succeed, NULL, NULL);
    CHECK(prc_assignment_name(NULL) == NULL && prc_assignment_function(NULL) == NULL);
    CHECK(prc_assignment_index(NULL) == UINT32_MAX && prc_assignment_attempt(NULL) == 0);
    CHECK(prc_assignment_arg_count(NULL) == 0 && prc_assignment_kwarg_count(NULL) == 0);
    OK(prc_assignment_succeed, items[0], NULL); /* a null result */
    prc_assignment_free(items[0]);
    prc_assignment_free(NULL);
    OK(prc_hosted_run_cancel, run);
    OK(prc_hosted_run_cancel, run);
    prc_hosted_run_free(run);
    prc_hosted_run_free(NULL);
}

/* prc_assignment_fail on an attempt that is already settled, and on one that timed out while
 * the host held it: both change nothing, and say why. */
static void test_fail_too_late(void)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "late", &b);
    prc_task *t = NULL;
    OK(prc_task_new, "settled", NULL, NULL, NULL, &t);
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
    OK(prc_task_new, "expires", NULL, NULL, NULL, &t);
    OK(prc_task_set_timeout, t, 0.05);
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_process_builder_free(b);
    prc_hosted_run *run = NULL;
    OK(prc_process_start_hosted, p, NULL, &run);
    prc_process_free(p);

    prc_assignment *items[4];
    size_t count = 0;
    OK(prc_hosted_run_next_batch, run, items, 4, &count);
    CHECK(count == 2);
    prc_assignment *settled = items[0], *expires = items[1];
    if (strcmp(prc_assignment_name(settled), "settled") != 0) {
        settled = items[1];
        expires = items[0];
    }
    CHECK(strcmp(prc_assignment_name(expires), "expires") == 0);
    prc_value *v = int_value(5);
    OK(prc_assignment_succeed, settled, v);
    prc_value_free(v);
    EXPECT_MSG(PRC_STATUS_ALREADY_COMPLETED, "already completed", prc_assignment_fail, settled,
               NULL, "too late", NULL, NULL);

    /* The host never settles `expires`: its timeout ends it, and with it the run. */
    uint32_t readiness = PRC_READINESS_READY;
    for (int i = 0; i < 100 && readiness != PRC_READINESS_FINISHED; i++) {
        OK(prc_hosted_run_wait, run, 0.1, &readiness);
    }
    CHECK(readiness == PRC_READINESS_FINISHED);
    CHECK(prc_hosted_run_in_flight(run) == 0);
    EXPECT_MSG(PRC_STATUS_ABANDONED, "timed out", prc_assignment_fail, expires, "HostError",
               "finished after all", NULL, NULL);
    EXPECT(PRC_STATUS_ABANDONED, prc_assignment_succeed, expires, NULL);

    /* Neither late call changed the report. */
    prc_report *r = NULL;
    OK(prc_hosted_run_report, run, &r);
    CHECK(!prc_report_was_cancelled(r));
    const prc_entry *e = NULL;
    OK(prc_report_find, r, "settled", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_SUCCESS && int_of(prc_entry_result(e)) == 5);
    OK(prc_report_find, r, "expires", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_ERRORED);
    CHECK(strcmp(prc_entry_error_kind(e), "timeout") == 0);
    prc_report_free(r);
    prc_assignment_free(settled);
    prc_assignment_free(expires);
    prc_hosted_run_free(run);
}

int main(void)
{
    watchdog(60);
    test_hosted_run();
    test_wait_timeout_and_cancel();
    test_arguments();
    test_fail_too_late();
    puts("test_hosted: ok");
    return 0;
}
