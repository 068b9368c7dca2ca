/* Asynchronous completion from threads the callbacks start, completions that come too late
 * or twice, and cancellation of a run from another thread. */
#include <pthread.h>
#include <time.h>

#include "check.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

enum { MAX_THREADS = 32 };

/* The delay of a job that completes after its attempt timed out. */
enum { LATE_MS = 120 };

struct job {
    prc_completion *completion;
    int64_t input;
    long delay_ms;
    int mode; /* 0 succeed, 1 fail, 2 succeed twice, 3 wait for cancellation */
    prc_status first, second, third;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t threads[MAX_THREADS];
static struct job jobs[MAX_THREADS];
static int started;
static int in_callback; /* callbacks still running: a run may end before they return */

/* Waits (two seconds at most) until the attempt's token says stop: the run was cancelled or
 * the attempt timed out. */
static void await_token(struct job *job)
{
    prc_cancel_token *token = NULL;
    OK(prc_completion_cancel_token, job->completion, &token);
    for (int i = 0; i < 2000 && !prc_cancel_token_is_cancelled(token); i++) {
        sleep_ms(1);
    }
    CHECK(prc_cancel_token_is_cancelled(token));
    prc_cancel_token_free(token);
}

static void *work(void *arg)
{
    struct job *job = arg;
    prc_error *error = NULL;
    if (job->mode == 3) {
        await_token(job);
        job->first = prc_completion_fail(job->completion, NULL, "stopped", NULL, NULL, &error);
        prc_error_free(error);
    } else {
        if (job->delay_ms == LATE_MS) {
            /* Completes only once its timeout has expired, however slowly the timer runs
             * (under valgrind, a fixed delay is not enough). */
            await_token(job);
        } else {
            sleep_ms(job->delay_ms);
        }
        if (job->mode == 1) {
            /* Refused strings settle nothing: the failure below is still accepted. */
            const char *bad = "\xff\xfe";
            EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`message`", prc_completion_fail,
                       job->completion, NULL, bad, NULL, NULL);
            EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`kind`", prc_completion_fail, job->completion,
                       bad, "m", NULL, NULL);
            EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`traceback`", prc_completion_fail,
                       job->completion, NULL, "m", bad, NULL);
            EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`location`", prc_completion_fail,
                       job->completion, NULL, "m", NULL, bad);
            job->first = prc_completion_fail(job->completion, "IOError", "disk full",
                                             "at write()", NULL, NULL);
        } else {
            prc_value *v = int_value(job->input * 10);
            job->first = prc_completion_succeed(job->completion, v, NULL);
            if (job->mode == 2) {
                job->second = prc_completion_succeed(job->completion, v, &error);
                CHECK(strstr(prc_error_message(error), "already completed") != NULL);
                prc_error_free(error);
                error = NULL;
                job->third = prc_completion_fail(job->completion, NULL, "late", NULL, NULL,
                                                 &error);
                CHECK(strstr(prc_error_message(error), "already completed") != NULL);
                prc_error_free(error);
            }
            prc_value_free(v);
        }
    }
    prc_completion_free(job->completion);
    return NULL;
}

/* Starts a thread that settles the attempt later, and answers pending. */
static uint32_t deferred(void *user_data, prc_context *ctx)
{
    const int *mode = user_data;
    size_t n = 0;
    OK(prc_context_arg_count, ctx, &n);
    int64_t input = 1;
    if (n > 0) {
        const prc_value *arg = NULL;
        OK(prc_context_arg, ctx, 0, &arg);
        input = int_of(arg);
    }
    pthread_mutex_lock(&lock);
    in_callback++;
    CHECK(started < MAX_THREADS);
    struct job *job = &jobs[started];
    memset(job, 0, sizeof *job);
    job->input = input;
    job->mode = *mode;
    job->delay_ms = *mode == 4 ? LATE_MS : 20;
    if (job->mode == 4) {
        job->mode = 0;
    }
    OK(prc_context_completion, ctx, &job->completion);
    CHECK(pthread_create(&threads[started], NULL, work, job) == 0);
    started++;
    in_callback--;
    pthread_mutex_unlock(&lock);
    return PRC_OUTCOME_PENDING;
}

/* Blocks a pool thread until the run is cancelled. */
static uint32_t blocking(void *user_data, prc_context *ctx)
{
    (void)user_data;
    bool cancelled = false;
    for (int i = 0; i < 2000 && !cancelled; i++) {
        OK(prc_context_is_cancelled, ctx, &cancelled);
        sleep_ms(1);
    }
    CHECK(cancelled);
    return PRC_OUTCOME_SUCCESS;
}

static uint32_t never_reached(void *user_data, prc_context *ctx)
{
    (void)user_data;
    (void)ctx;
    CHECK(!"a task after the cancellation point must not run");
    return PRC_OUTCOME_SUCCESS;
}

/* Joins the threads of the `expected` callbacks once they all started theirs: an attempt that
 * timed out ends its task while its callback may still be on its way. */
static void join_all(int expected)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&lock);
        bool done = in_callback == 0 && started >= expected;
        pthread_mutex_unlock(&lock);
        if (done) break;
        sleep_ms(1);
    }
    CHECK(started == expected);
    for (int i = 0; i < started; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
    }
}

static int mode_succeed = 0, mode_fail = 1, mode_twice = 2, mode_cancel = 3, mode_late = 4;

static void add(prc_process_builder *b, const char *name, prc_task_fn fn, void *data,
                const char *after, double timeout)
{
    prc_task *t = NULL;
    OK(prc_task_new, name, fn, data, NULL, &t);
    if (after != NULL) {
        OK(prc_task_add_dependency, t, after, PRC_INJECTION_POSITIONAL, NULL);
    }
    if (timeout > 0) {
        OK(prc_task_set_timeout, t, timeout);
    }
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
}

/* Builds the process `b` describes (freeing `b`), runs it sequentially or in parallel and
 * returns the report; the process is written to `*out`. */
static prc_report *build_and_run(prc_process_builder *b, bool parallel, prc_process **out)
{
    OK(prc_process_build, b, out);
    prc_process_builder_free(b);
    prc_run_options *o = prc_run_options_new();
    OK(prc_run_options_set_parallel, o, parallel);
    prc_report *r = NULL;
    OK(prc_process_run, *out, o, &r);
    prc_run_options_free(o);
    return r;
}

static void test_async_completion(bool parallel)
{
    started = 0;
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "async", &b);
    add(b, "first", deferred, &mode_succeed, NULL, 0);
    add(b, "second", deferred, &mode_twice, "first", 0);
    add(b, "third", deferred, &mode_succeed, "second", 0);
    add(b, "broken", deferred, &mode_fail, NULL, 0);
    add(b, "late", deferred, &mode_late, NULL, 0.03);
    prc_process *p = NULL;
    prc_report *r = build_and_run(b, parallel, &p);
    join_all(5);

    const prc_entry *e = NULL;
    OK(prc_report_find, r, "third", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_SUCCESS);
    CHECK(int_of(prc_entry_result(e)) == 1000); /* 1 -> 10 -> 100 -> 1000 */
    OK(prc_report_find, r, "second", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_SUCCESS); /* the late failure changed nothing */
    OK(prc_report_find, r, "broken", &e);
    CHECK(strcmp(prc_entry_error_kind(e), "IOError") == 0);
    CHECK(strcmp(prc_entry_error_traceback(e), "at write()") == 0);
    OK(prc_report_find, r, "late", &e);
    CHECK(strcmp(prc_entry_error_kind(e), "timeout") == 0);
    for (int i = 0; i < started; i++) {
        if (jobs[i].delay_ms == LATE_MS) {
            CHECK(jobs[i].first == PRC_STATUS_ABANDONED);
        } else {
            CHECK(jobs[i].first == PRC_STATUS_OK);
        }
        if (jobs[i].mode == 2) {
            CHECK(jobs[i].second == PRC_STATUS_ALREADY_COMPLETED);
            CHECK(jobs[i].third == PRC_STATUS_ALREADY_COMPLETED);
        }
    }
    prc_report_free(r);
    prc_process_free(p);
}

struct canceller {
    prc_cancel_token *token;
    long delay_ms;
};

static int started_so_far(void)
{
    pthread_mutex_lock(&lock);
    int n = started;
    pthread_mutex_unlock(&lock);
    return n;
}

static void *cancel_later(void *arg)
{
    struct canceller *c = arg;
    /* Cancel only once the pending task has started its thread, so that the outcome does not
     * depend on how fast the pool starts (valgrind makes it slow). */
    for (int i = 0; i < 5000 && started_so_far() == 0; i++) {
        sleep_ms(1);
    }
    sleep_ms(c->delay_ms);
    OK(prc_cancel_token_cancel, c->token);
    OK(prc_cancel_token_cancel, c->token); /* idempotent */
    return NULL;
}

static void test_cancel_from_another_thread(bool parallel)
{
    started = 0;
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "cancelled", &b);
    add(b, "waits", deferred, &mode_cancel, NULL, 0);
    add(b, "blocks", blocking, NULL, NULL, 0);
    add(b, "after_waits", never_reached, NULL, "waits", 0);
    add(b, "after_blocks", never_reached, NULL, "blocks", 0);
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_process_builder_free(b);

    struct canceller c = {prc_cancel_token_new(), 50};
    prc_run_options *o = prc_run_options_new();
    OK(prc_run_options_set_parallel, o, parallel);
    OK(prc_run_options_set_cancel_token, o, c.token);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, cancel_later, &c) == 0);
    prc_report *r = NULL;
    OK(prc_process_run, p, o, &r);
    CHECK(pthread_join(thread, NULL) == 0);
    join_all(1);
    CHECK(prc_cancel_token_is_cancelled(c.token));

    CHECK(prc_report_was_cancelled(r));
    prc_counts counts;
    OK(prc_report_counts, r, &counts);
    CHECK(counts.cancelled >= 2);
    const prc_entry *e = NULL;
    OK(prc_report_find, r, "after_waits", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_CANCELLED);
    OK(prc_report_find, r, "after_blocks", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_CANCELLED);
    /* The pending task is completed once the run is cancelled: the completion is refused and
     * the task is reported cancelled, having started once. */
    OK(prc_report_find, r, "waits", &e);
    CHECK(jobs[0].first == PRC_STATUS_ABANDONED);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_CANCELLED);
    CHECK(prc_entry_attempts(e) == 1);
    prc_report_free(r);
    prc_run_options_free(o);
    prc_cancel_token_free(c.token);
    prc_process_free(p);
}

/* An observer that calls back into the library: it cancels the run when `first` ends. */
static void cancel_on_first(void *user_data, const prc_event *event)
{
    if (event->kind == PRC_EVENT_KIND_TASK_FINISHED && strcmp(event->task, "first") == 0) {
        OK(prc_cancel_token_cancel, (prc_cancel_token *)user_data);
    }
}

static uint32_t quick(void *user_data, prc_context *ctx)
{
    (void)user_data;
    (void)ctx;
    return PRC_OUTCOME_SUCCESS;
}

static void test_observer_cancels(bool parallel)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "observed", &b);
    add(b, "first", quick, NULL, NULL, 0);
    add(b, "second", never_reached, NULL, "first", 0);
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_process_builder_free(b);
    prc_cancel_token *token = prc_cancel_token_new();
    prc_run_options *o = prc_run_options_new();
    OK(prc_run_options_set_parallel, o, parallel);
    OK(prc_run_options_set_cancel_token, o, token);
    OK(prc_run_options_set_observer, o, cancel_on_first, token, NULL);
    prc_report *r = NULL;
    OK(prc_process_run, p, o, &r);
    CHECK(prc_report_was_cancelled(r));
    const prc_entry *e = NULL;
    OK(prc_report_find, r, "second", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_CANCELLED);
    prc_report_free(r);
    prc_run_options_free(o);
    prc_cancel_token_free(token);
    prc_process_free(p);
}

/* Answers pending without taking a completion handle, so that nothing could ever settle the
 * attempt. With `*take_token` it first takes (and frees) a cancellation token, which gives
 * the attempt state of its own that a completion could otherwise have used. */
static uint32_t pending_without_handle(void *user_data, prc_context *ctx)
{
    const bool *take_token = user_data;
    if (*take_token) {
        prc_cancel_token *token = NULL;
        OK(prc_context_cancel_token, ctx, &token);
        CHECK(!prc_cancel_token_is_cancelled(token));
        prc_cancel_token_free(token);
    }
    return PRC_OUTCOME_PENDING;
}

/* Such an attempt fails at once, whether or not it has a token or a timeout: the run neither
 * hangs nor waits for the timeout. */
static void test_pending_without_handle(bool parallel)
{
    static bool with_token = true, without_token = false;
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "unsettled", &b);
    add(b, "plain", pending_without_handle, &without_token, NULL, 0);
    add(b, "token", pending_without_handle, &with_token, NULL, 0);
    add(b, "timeout", pending_without_handle, &without_token, NULL, 60);
    add(b, "both", pending_without_handle, &with_token, NULL, 60);
    add(b, "after_token", never_reached, NULL, "token", 0);
    prc_process *p = NULL;
    prc_report *r = build_and_run(b, parallel, &p);

    CHECK(!prc_report_was_cancelled(r));
    CHECK(prc_report_elapsed_seconds(r) < 30.0);
    const char *names[] = {"plain", "token", "timeout", "both"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const prc_entry *e = NULL;
        OK(prc_report_find, r, names[i], &e);
        CHECK(prc_entry_status(e) == PRC_TASK_STATUS_ERRORED);
        CHECK(prc_entry_attempts(e) == 1);
        CHECK(strcmp(prc_entry_error_kind(e), "error") == 0);
        const char *message = prc_entry_error_message(e);
        if (strstr(message, "pending without taking a completion handle") == NULL) {
            fprintf(stderr, "task %s: unexpected message \"%s\"\n", names[i], message);
            exit(1);
        }
    }
    const prc_entry *e = NULL;
    OK(prc_report_find, r, "after_token", &e);
    CHECK(prc_entry_status(e) == PRC_TASK_STATUS_SKIPPED);
    prc_report_free(r);
    prc_process_free(p);
}

static void test_completion_arguments(void)
{
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_completion_succeed, NULL, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_completion_fail, NULL, NULL, "m", NULL, NULL);
    prc_cancel_token *token = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_completion_cancel_token, NULL, &token);
    CHECK(prc_completion_attempt(NULL) == 0);
    prc_completion_free(NULL);
}

int main(void)
{
    watchdog(60);
    test_completion_arguments();
    test_async_completion(false);
    test_async_completion(true);
    test_pending_without_handle(false);
    test_pending_without_handle(true);
    test_cancel_from_another_thread(false);
    test_cancel_from_another_thread(true);
    test_observer_cancels(false);
    test_observer_cancels(true);
    puts("test_async: ok");
    return 0;
}
