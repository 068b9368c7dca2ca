/* Blocking runs with C callbacks: injection, static arguments, results, failures of every
 * shape, retries, timeouts, the context API, observers, re-entrant calls refused, and the
 * report read field by field. */
#include <pthread.h>
#include <time.h>

#include "check.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static prc_process *current; /* the process under test, for re-entrant calls */
static prc_process *other;   /* a different process, which a callback may run */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Returns the integer user_data points to. */
static uint32_t constant(void *user_data, prc_context *ctx)
{
    prc_value *v = int_value(*(const int64_t *)user_data);
    OK(prc_context_set_result, ctx, v);
    prc_value_free(v);
    return PRC_OUTCOME_SUCCESS;
}

/* sum = static arg + positional injection + named injection "right", times kwarg "scale". */
static uint32_t sum(void *user_data, prc_context *ctx)
{
    (void)user_data;
    size_t n = 0;
    OK(prc_context_arg_count, ctx, &n);
    CHECK(n == 2);
    const prc_value *arg = NULL;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        OK(prc_context_arg, ctx, i, &arg);
        total += int_of(arg);
    }
    EXPECT_MSG(PRC_STATUS_OUT_OF_RANGE, "argument index 2", prc_context_arg, ctx, 2, &arg);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`context`", prc_context_arg, NULL, 0, &arg);
    size_t kn = 0;
    OK(prc_context_kwarg_count, ctx, &kn);
    CHECK(kn == 2);
    const char *kname = NULL;
    const prc_value *kvalue = NULL;
    OK(prc_context_kwarg_at, ctx, 0, &kname, &kvalue);
    CHECK(strcmp(kname, "scale") == 0 && int_of(kvalue) == 2);
    OK(prc_context_kwarg_at, ctx, 1, &kname, &kvalue);
    CHECK(strcmp(kname, "right") == 0);
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_context_kwarg_at, ctx, 2, &kname, &kvalue);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_kwarg_at, ctx, 0, NULL, &kvalue);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_kwarg_at, ctx, 0, &kname, NULL);
    const prc_value *right = NULL;
    OK(prc_context_kwarg, ctx, "right", &right);
    total += int_of(right);
    const prc_value *scale = NULL;
    OK(prc_context_kwarg, ctx, "scale", &scale);
    EXPECT_MSG(PRC_STATUS_NOT_FOUND, "no named argument \"nope\"", prc_context_kwarg, ctx,
               "nope", &scale);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_context_kwarg, ctx, "\xff", &scale);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`context`", prc_context_kwarg, NULL, "scale",
               &scale);
    prc_value *result = int_value(total * int_of(scale));
    OK(prc_context_set_result, ctx, result);
    prc_value_free(result);
    return PRC_OUTCOME_SUCCESS;
}

static uint32_t audit(void *user_data, prc_context *ctx)
{
    (void)user_data;
    OK(prc_context_trace, ctx, "threshold", "0.25");
    OK(prc_context_trace, ctx, "rows", "3");
    OK(prc_context_trace, ctx, "rows", "4"); /* replaces */
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_context_trace, ctx, "x", "\xff");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_trace, ctx, NULL, "1");
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_context_fail, ctx, "\xff", "m", NULL, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_fail, ctx, NULL, NULL, NULL, NULL);
    OK(prc_context_fail, ctx, "ValueError", "audit found 3 orders above the threshold",
       "Traceback: audit.c:12", "audit.c:12");
    return PRC_OUTCOME_FAILURE;
}

static uint32_t fail_without_error(void *user_data, prc_context *ctx)
{
    (void)user_data;
    (void)ctx;
    return PRC_OUTCOME_FAILURE;
}

static uint32_t bad_code(void *user_data, prc_context *ctx)
{
    (void)user_data;
    (void)ctx;
    return 7;
}

/* Fails with kind "connection" until its third attempt. */
static uint32_t flaky(void *user_data, prc_context *ctx)
{
    (void)user_data;
    uint32_t attempt = 0;
    OK(prc_context_attempt, ctx, &attempt);
    if (attempt < 3) {
        OK(prc_context_fail, ctx, "connection", "reset by peer", NULL, NULL);
        return PRC_OUTCOME_FAILURE;
    }
    return PRC_OUTCOME_SUCCESS;
}

/* Runs past its timeout, but stops once it sees its cancellation. */
static uint32_t slow(void *user_data, prc_context *ctx)
{
    (void)user_data;
    for (int i = 0; i < 200; i++) {
        bool cancelled = false;
        OK(prc_context_is_cancelled, ctx, &cancelled);
        if (cancelled) {
            break;
        }
        sleep_ms(5);
    }
    return PRC_OUTCOME_SUCCESS;
}

struct reentry {
    prc_status run, add, remove, depend, hosted;
    size_t len;
    bool running;
};

/* Calls back into its own process: whatever would deadlock is refused. */
static uint32_t reentrant(void *user_data, prc_context *ctx)
{
    struct reentry *seen = user_data;
    prc_report *report = NULL;
    prc_error *error = NULL;
    seen->run = prc_process_run(current, NULL, &report, &error);
    CHECK(report == NULL);
    CHECK(strstr(prc_error_message(error), "already running") != NULL);
    prc_error_free(error);
    prc_task *extra = NULL;
    OK(prc_task_new, "extra", constant, NULL, NULL, &extra);
    seen->add = prc_process_add_task(current, extra, NULL);
    prc_task_free(extra);
    seen->remove = prc_process_remove_task(current, "left", NULL);
    seen->depend = prc_process_add_dependency(current, "left", "right", 0, NULL, NULL);
    prc_hosted_run *hosted = NULL;
    seen->hosted = prc_process_start_hosted(current, NULL, &hosted, NULL);
    CHECK(hosted == NULL);
    seen->len = prc_process_len(current);
    seen->running = prc_process_is_running(current);

    /* Running a different process from inside a callback is fine. */
    prc_report *nested = NULL;
    OK(prc_process_run, other, NULL, &nested);
    const prc_entry *only = NULL;
    OK(prc_report_entry, nested, 0, &only);
    CHECK(prc_entry_status(only) == PRC_TASK_STATUS_SUCCESS);
    CHECK(int_of(prc_entry_result(only)) == 2);
    prc_report_free(nested);

    /* The rest of the context API, including its argument checks. */
    const char *name = NULL;
    OK(prc_context_task_name, ctx, &name);
    CHECK(strcmp(name, "reentrant") == 0);
    OK(prc_context_process_name, ctx, &name);
    CHECK(strcmp(name, "diamond") == 0);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_task_name, ctx, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_task_name, NULL, &name);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_process_name, NULL, &name);
    uint32_t attempt = 0;
    OK(prc_context_attempt, ctx, &attempt);
    CHECK(attempt == 1);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_attempt, NULL, &attempt);
    size_t count = 9;
    OK(prc_context_arg_count, ctx, &count);
    CHECK(count == 0);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_arg_count, ctx, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_kwarg_count, NULL, &count);
    bool cancelled = true;
    OK(prc_context_is_cancelled, ctx, &cancelled);
    CHECK(!cancelled);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_is_cancelled, ctx, NULL);
    prc_cancel_token *token = NULL;
    OK(prc_context_cancel_token, ctx, &token);
    CHECK(!prc_cancel_token_is_cancelled(token));
    prc_cancel_token_free(token);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_cancel_token, ctx, NULL);
    OK(prc_context_log, ctx, PRC_LOG_LEVEL_INFO, "re-entered");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "not a prc_log_level", prc_context_log, ctx, 9,
               "x");
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_context_log, ctx, PRC_LOG_LEVEL_INFO, "\xff");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_log, NULL, PRC_LOG_LEVEL_INFO, "x");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_set_result, ctx, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_set_result, NULL, NULL);

    /* The completion handle can be taken once; settling through it from inside the
     * callback is allowed. */
    prc_completion *completion = NULL;
    OK(prc_context_completion, ctx, &completion);
    prc_completion *again = NULL;
    EXPECT_MSG(PRC_STATUS_WRONG_STATE, "already taken", prc_context_completion, ctx, &again);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_completion, ctx, NULL);
    CHECK(prc_completion_attempt(completion) == 1);
    prc_value *v = int_value(99);
    OK(prc_completion_succeed, completion, v);
    EXPECT(PRC_STATUS_ALREADY_COMPLETED, prc_completion_succeed, completion, v);
    prc_value_free(v);
    prc_completion_free(completion);
    return PRC_OUTCOME_PENDING;
}

struct observed {
    int started, failed, finished, run_finished, finalized;
    size_t last_total;
    bool cancelled;
};

static void observe(void *user_data, const prc_event *event)
{
    struct observed *o = user_data;
    pthread_mutex_lock(&lock);
    switch (event->kind) {
    case PRC_EVENT_KIND_TASK_STARTED:
        CHECK(event->task != NULL && event->attempt >= 1);
        o->started++;
        break;
    case PRC_EVENT_KIND_ATTEMPT_FAILED:
        CHECK(strcmp(event->task, "flaky") == 0 && event->max_attempts == 4);
        CHECK(strcmp(event->error_kind, "connection") == 0);
        CHECK(strcmp(event->error_message, "reset by peer") == 0);
        o->failed++;
        break;
    case PRC_EVENT_KIND_TASK_FINISHED:
        CHECK(event->status <= PRC_TASK_STATUS_CANCELLED && event->done <= event->total);
        o->finished++;
        break;
    case PRC_EVENT_KIND_RUN_FINISHED:
        CHECK(event->task == NULL);
        o->run_finished++;
        o->last_total = event->total;
        o->cancelled = event->cancelled;
        break;
    default:
        CHECK(!"unknown event kind");
    }
    pthread_mutex_unlock(&lock);
}

static void observer_done(void *user_data)
{
    pthread_mutex_lock(&lock);
    ((struct observed *)user_data)->finalized++;
    pthread_mutex_unlock(&lock);
}

static int finalized_count(struct observed *o)
{
    pthread_mutex_lock(&lock);
    int n = o->finalized;
    pthread_mutex_unlock(&lock);
    return n;
}

static int64_t two = 2, three = 3, hundred = 100;
static struct reentry seen;

static prc_task *add(prc_process_builder *b, const char *name, prc_task_fn fn, void *data)
{
    prc_task *t = NULL;
    OK(prc_task_new, name, fn, data, NULL, &t);
    OK(prc_process_builder_add_task, b, t);
    return t; /* the caller may change it and add it again (a copy is added each time) */
}

static prc_process *diamond(void)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "diamond", &b);
    /* Declared before its dependencies. */
    prc_task *s = NULL;
    OK(prc_task_new, "sum", sum, NULL, NULL, &s);
    prc_value *v = int_value(hundred);
    OK(prc_task_add_arg, s, v);
    prc_value_free(v);
    v = int_value(2);
    OK(prc_task_set_kwarg, s, "scale", v);
    prc_value_free(v);
    OK(prc_task_add_dependency, s, "left", PRC_INJECTION_POSITIONAL, NULL);
    OK(prc_task_add_dependency, s, "right", PRC_INJECTION_NAMED, "right");
    OK(prc_task_set_function, s, "add_up");
    OK(prc_process_builder_add_task, b, s);
    prc_task_free(s);
    prc_task_free(add(b, "left", constant, &two));
    prc_task_free(add(b, "right", constant, &three));
    prc_task *a = add(b, "audit", audit, NULL);
    prc_task_free(a);
    prc_task *publish = NULL;
    OK(prc_task_new, "publish", constant, &two, NULL, &publish);
    OK(prc_task_add_dependency, publish, "audit", PRC_INJECTION_POSITIONAL, NULL);
    OK(prc_task_add_dependency, publish, "sum", PRC_INJECTION_NONE, NULL);
    OK(prc_process_builder_add_task, b, publish);
    prc_task_free(publish);
    prc_task *cleanup = NULL;
    OK(prc_task_new, "cleanup", constant, &three, NULL, &cleanup);
    OK(prc_task_add_dependency, cleanup, "publish", PRC_INJECTION_NONE, NULL);
    OK(prc_task_set_trigger_rule, cleanup, PRC_TRIGGER_RULE_ALL_DONE);
    OK(prc_process_builder_add_task, b, cleanup);
    prc_task_free(cleanup);
    prc_task_free(add(b, "no_error", fail_without_error, NULL));
    prc_task_free(add(b, "bad_code", bad_code, NULL));
    prc_task_free(add(b, "no_callback", NULL, NULL));
    prc_task *f = NULL;
    OK(prc_task_new, "flaky", flaky, NULL, NULL, &f);
    OK(prc_task_set_retries, f, 3);
    OK(prc_task_set_backoff_exponential, f, 0.001, 2.0, 0.01, 0.5);
    OK(prc_process_builder_add_task, b, f);
    prc_task_free(f);
    prc_task *picky = NULL;
    OK(prc_task_new, "picky", flaky, NULL, NULL, &picky);
    OK(prc_task_set_retries, picky, 3);
    const char *kinds[] = {"timeout"};
    OK(prc_task_set_retry_on, picky, kinds, 1);
    OK(prc_process_builder_add_task, b, picky);
    prc_task_free(picky);
    prc_task *timed = NULL;
    OK(prc_task_new, "slow", slow, NULL, NULL, &timed);
    OK(prc_task_set_timeout, timed, 0.05);
    OK(prc_process_builder_add_task, b, timed);
    prc_task_free(timed);
    prc_task_free(add(b, "reentrant", reentrant, &seen));
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_process_builder_free(b);
    return p;
}

static const prc_entry *find(const prc_report *r, const char *name)
{
    const prc_entry *e = NULL;
    OK(prc_report_find, r, name, &e);
    return e;
}

static void check_report(const prc_report *r)
{
    CHECK(strcmp(prc_report_process_name(r), "diamond") == 0);
    CHECK(prc_report_len(r) == 13);
    CHECK(!prc_report_was_cancelled(r));
    CHECK(prc_report_elapsed_seconds(r) >= 0.0);
    CHECK(strlen(prc_report_started_at(r)) == 27 && strlen(prc_report_finished_at(r)) == 27);
    prc_counts counts;
    OK(prc_report_counts, r, &counts);
    CHECK(counts.success == 6 && counts.errored == 6 && counts.skipped == 1);
    CHECK(counts.cancelled == 0);

    /* Entries come in topological order. */
    size_t left_at = 99, sum_at = 99;
    for (size_t i = 0; i < prc_report_len(r); i++) {
        const prc_entry *e = NULL;
        OK(prc_report_entry, r, i, &e);
        if (strcmp(prc_entry_name(e), "left") == 0) left_at = i;
        if (strcmp(prc_entry_name(e), "sum") == 0) sum_at = i;
    }
    CHECK(left_at < sum_at && sum_at < 13);
    const prc_entry *e = NULL;
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_report_entry, r, 13, &e);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_entry, r, 0, NULL);
    EXPECT(PRC_STATUS_NOT_FOUND, prc_report_find, r, "ghost", &e);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_report_find, r, "\xff", &e);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`report`", prc_report_find, NULL, "sum", &e);

    const prc_entry *s = find(r, "SUM");
    CHECK(prc_entry_status(s) == PRC_TASK_STATUS_SUCCESS);
    CHECK(int_of(prc_entry_result(s)) == (100 + 2 + 3) * 2);
    CHECK(strcmp(prc_entry_function(s), "add_up") == 0);
    CHECK(prc_entry_attempts(s) == 1);
    CHECK(prc_entry_started_at(s) != NULL && prc_entry_finished_at(s) != NULL);
    CHECK(prc_entry_elapsed_seconds(s) >= 0.0);
    CHECK(prc_entry_error_kind(s) == NULL && prc_entry_error_message(s) == NULL);
    CHECK(prc_entry_traced_var_count(s) == 0 && prc_entry_downstream_count(s) == 0);
    CHECK(prc_entry_skipped_because(s) == NULL && prc_entry_log_error(s) == NULL);

    const prc_entry *a = find(r, "audit");
    CHECK(prc_entry_status(a) == PRC_TASK_STATUS_ERRORED);
    CHECK(prc_entry_result(a) == NULL);
    CHECK(strcmp(prc_entry_error_kind(a), "ValueError") == 0);
    CHECK(strcmp(prc_entry_error_message(a), "audit found 3 orders above the threshold") == 0);
    CHECK(strcmp(prc_entry_error_traceback(a), "Traceback: audit.c:12") == 0);
    CHECK(strcmp(prc_entry_error_location(a), "audit.c:12") == 0);
    CHECK(prc_entry_traced_var_count(a) == 2);
    const char *vname = NULL, *vtext = NULL;
    OK(prc_entry_traced_var, a, 1, &vname, &vtext);
    CHECK(strcmp(vname, "rows") == 0 && strcmp(vtext, "4") == 0);
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_entry_traced_var, a, 2, &vname, &vtext);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_entry_traced_var, a, 0, NULL, &vtext);
    CHECK(prc_entry_downstream_count(a) == 1);
    const char *down = NULL;
    OK(prc_entry_downstream, a, 0, &down);
    CHECK(strcmp(down, "publish") == 0);
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_entry_downstream, a, 1, &down);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_entry_downstream, NULL, 0, &down);

    const prc_entry *p = find(r, "publish");
    CHECK(prc_entry_status(p) == PRC_TASK_STATUS_SKIPPED);
    CHECK(strcmp(prc_entry_skipped_because(p), "audit") == 0);
    CHECK(prc_entry_attempts(p) == 0 && prc_entry_started_at(p) == NULL);
    CHECK(prc_entry_status(find(r, "cleanup")) == PRC_TASK_STATUS_SUCCESS);

    CHECK(strstr(prc_entry_error_message(find(r, "no_error")), "without calling") != NULL);
    CHECK(strstr(prc_entry_error_message(find(r, "bad_code")), "returned 7") != NULL);
    CHECK(strstr(prc_entry_error_message(find(r, "no_callback")), "has no callback") != NULL);
    const prc_entry *f = find(r, "flaky");
    CHECK(prc_entry_status(f) == PRC_TASK_STATUS_SUCCESS && prc_entry_attempts(f) == 3);
    const prc_entry *k = find(r, "picky");
    CHECK(prc_entry_status(k) == PRC_TASK_STATUS_ERRORED && prc_entry_attempts(k) == 1);
    const prc_entry *t = find(r, "slow");
    CHECK(prc_entry_status(t) == PRC_TASK_STATUS_ERRORED);
    CHECK(strcmp(prc_entry_error_kind(t), "timeout") == 0);
    const prc_entry *re = find(r, "reentrant");
    CHECK(prc_entry_status(re) == PRC_TASK_STATUS_SUCCESS);
    CHECK(int_of(prc_entry_result(re)) == 99);

    char *json = NULL;
    OK(prc_report_to_json, r, false, &json);
    CHECK(strstr(json, "\"process_name\":\"diamond\"") != NULL);
    CHECK(strstr(json, "\"status\":\"errored\"") != NULL);
    prc_string_free(json);
    OK(prc_report_to_json, r, true, &json);
    CHECK(strstr(json, "\n  \"process_name\": \"diamond\"") != NULL);
    prc_string_free(json);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_to_json, r, false, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_to_json, NULL, false, &json);

    CHECK(seen.run == PRC_STATUS_RUNNING && seen.add == PRC_STATUS_RUNNING);
    CHECK(seen.remove == PRC_STATUS_RUNNING && seen.depend == PRC_STATUS_RUNNING);
    CHECK(seen.hosted == PRC_STATUS_RUNNING);
    CHECK(seen.len == 13 && seen.running);
}

static void test_null_report_getters(void)
{
    CHECK(prc_report_process_name(NULL) == NULL && prc_report_len(NULL) == 0);
    CHECK(!prc_report_was_cancelled(NULL) && prc_report_elapsed_seconds(NULL) == 0.0);
    CHECK(prc_report_started_at(NULL) == NULL && prc_report_finished_at(NULL) == NULL);
    prc_counts counts;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_counts, NULL, &counts);
    CHECK(prc_entry_name(NULL) == NULL && prc_entry_function(NULL) == NULL);
    CHECK(prc_entry_status(NULL) == PRC_TASK_STATUS_CANCELLED);
    CHECK(prc_entry_attempts(NULL) == 0 && prc_entry_elapsed_seconds(NULL) == 0.0);
    CHECK(prc_entry_result(NULL) == NULL && prc_entry_error_kind(NULL) == NULL);
    CHECK(prc_entry_started_at(NULL) == NULL && prc_entry_finished_at(NULL) == NULL);
    CHECK(prc_entry_traced_var_count(NULL) == 0 && prc_entry_downstream_count(NULL) == 0);
    prc_report_free(NULL);
}

static void test_options(void)
{
    prc_run_options *o = prc_run_options_new();
    CHECK(o != NULL);
    OK(prc_run_options_set_parallel, o, true);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_run_options_set_parallel, NULL, true);
    OK(prc_run_options_set_max_workers, o, 3);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`options`", prc_run_options_set_max_workers, NULL, 3);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "max_workers", prc_run_options_set_max_workers, o,
               0);
    OK(prc_run_options_set_max_in_flight, o, 2);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_run_options_set_max_in_flight, o, 0);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`options`", prc_run_options_set_max_in_flight, NULL,
               2);
    struct observed obs = {0};
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_run_options_set_observer, o, NULL, &obs,
           observer_done);
    CHECK(obs.finalized == 1); /* a refused observer's user data is released at once */
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_run_options_set_observer, NULL, observe, NULL, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_run_options_set_cancel_token, o, NULL);
    prc_cancel_token *token = prc_cancel_token_new();
    OK(prc_run_options_set_cancel_token, o, token);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_cancel_token_cancel, NULL);
    CHECK(!prc_cancel_token_is_cancelled(NULL));
    prc_cancel_token_free(token);
    prc_cancel_token_free(NULL);
    prc_run_options_free(o);
    prc_run_options_free(NULL);
}

static void run_once(bool parallel)
{
    memset(&seen, 0, sizeof seen);
    struct observed obs = {0};
    prc_run_options *o = prc_run_options_new();
    OK(prc_run_options_set_parallel, o, parallel);
    OK(prc_run_options_set_max_workers, o, 4);
    OK(prc_run_options_set_observer, o, observe, &obs, observer_done);
    prc_report *r = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_run, current, o, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_run, NULL, o, &r);
    OK(prc_process_run, current, o, &r);
    CHECK(!prc_process_is_running(current));
    prc_run_options_free(o);
    check_report(r);
    prc_report_free(r);
    /* The finalizer runs once the options and the run are both gone: a callback that
     * outlived its timeout may still hold the run for a few milliseconds. */
    for (int i = 0; i < 400 && finalized_count(&obs) == 0; i++) {
        sleep_ms(5);
    }
    CHECK(finalized_count(&obs) == 1);
    CHECK(obs.finished == 13 && obs.run_finished == 1 && obs.last_total == 13);
    CHECK(obs.failed == 2 && !obs.cancelled && obs.started >= 13);
}

/* Sets a scalar result chosen by the task's name through the setters that need no value
 * handle; the first setter's result is replaced by the last one's. */
static uint32_t scalar(void *user_data, prc_context *ctx)
{
    (void)user_data;
    const char *name = NULL;
    OK(prc_context_task_name, ctx, &name);
    OK(prc_context_set_result_int, ctx, -1); /* replaced below */
    if (strcmp(name, "int") == 0)
        OK(prc_context_set_result_int, ctx, INT64_MIN);
    else if (strcmp(name, "float") == 0)
        OK(prc_context_set_result_float, ctx, 2.5);
    else if (strcmp(name, "value") == 0) {
        prc_value *text = NULL;
        OK(prc_value_new_text, "made", &text);
        OK(prc_context_set_result, ctx, text); /* a value replaces a scalar too */
        prc_value_free(text);
    } else
        OK(prc_context_set_result_bool, ctx, true);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_set_result_int, NULL, 1);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_set_result_float, NULL, 1.0);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_context_set_result_bool, NULL, false);
    return PRC_OUTCOME_SUCCESS;
}

/* Builds the process `b` describes (freeing `b`), writes it to `*out` and runs it with the
 * default options. */
static prc_report *build_and_run(prc_process_builder *b, prc_process **out)
{
    OK(prc_process_build, b, out);
    prc_process_builder_free(b);
    prc_report *report = NULL;
    OK(prc_process_run, *out, NULL, &report);
    return report;
}

/* Three tasks declared with one function and user data (so sharing one callback) each see
 * their own context and leave their own scalar result. */
static void test_scalar_results(void)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "scalars", &b);
    static int shared_data;
    const char *names[] = {"int", "float", "bool", "value"};
    for (size_t i = 0; i < 4; i++)
        prc_task_free(add(b, names[i], scalar, &shared_data));
    prc_process *p = NULL;
    prc_report *report = build_and_run(b, &p);
    const prc_entry *entry = NULL;
    int64_t i = 0;
    double f = 0;
    bool flag = false;
    OK(prc_report_find, report, "int", &entry);
    OK(prc_value_as_int, prc_entry_result(entry), &i);
    CHECK(i == INT64_MIN);
    OK(prc_report_find, report, "float", &entry);
    OK(prc_value_as_float, prc_entry_result(entry), &f);
    CHECK(f == 2.5);
    OK(prc_report_find, report, "bool", &entry);
    OK(prc_value_as_bool, prc_entry_result(entry), &flag);
    CHECK(flag);
    OK(prc_report_find, report, "value", &entry);
    const char *text = NULL;
    size_t len = 0;
    OK(prc_value_as_text, prc_entry_result(entry), &text, &len);
    CHECK(len == 4 && memcmp(text, "made", 4) == 0);
    prc_report_free(report);
    prc_process_free(p);
}

/* Reads its arguments (text "x", 7, then the injected 40) with prc_context_arg_int and
 * returns the sum of the integers. */
static uint32_t int_args(void *user_data, prc_context *ctx)
{
    (void)user_data;
    int64_t value = -1;
    EXPECT_MSG(PRC_STATUS_WRONG_TYPE, "text, not int", prc_context_arg_int, ctx, 0, &value);
    CHECK(value == -1); /* untouched on failure */
    int64_t seven = 0, injected = 0;
    OK(prc_context_arg_int, ctx, 1, &seven);
    OK(prc_context_arg_int, ctx, 2, &injected);
    EXPECT_MSG(PRC_STATUS_OUT_OF_RANGE, "argument index 3", prc_context_arg_int, ctx, 3,
               &value);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`context`", prc_context_arg_int, NULL, 1, &value);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`out`", prc_context_arg_int, ctx, 1, NULL);
    OK(prc_context_set_result_int, ctx, seven + injected);
    return PRC_OUTCOME_SUCCESS;
}

static void test_int_arguments(void)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "ints", &b);
    static int64_t forty = 40;
    prc_task_free(add(b, "forty", constant, &forty));
    prc_task *t = NULL;
    OK(prc_task_new, "reader", int_args, NULL, NULL, &t);
    prc_value *text = NULL;
    OK(prc_value_new_text, "x", &text);
    OK(prc_task_add_arg, t, text);
    prc_value_free(text);
    prc_value *seven = int_value(7);
    OK(prc_task_add_arg, t, seven);
    prc_value_free(seven);
    OK(prc_task_add_dependency, t, "forty", PRC_INJECTION_POSITIONAL, NULL);
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
    prc_process *p = NULL;
    prc_report *report = build_and_run(b, &p);
    const prc_entry *entry = NULL;
    OK(prc_report_find, report, "reader", &entry);
    CHECK(prc_entry_status(entry) == PRC_TASK_STATUS_SUCCESS);
    CHECK(int_of(prc_entry_result(entry)) == 47);
    prc_report_free(report);
    prc_process_free(p);
}

int main(void)
{
    watchdog(60);
    test_null_report_getters();
    test_options();
    test_scalar_results();
    test_int_arguments();
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "other", &b);
    prc_task_free(add(b, "two", constant, &two));
    OK(prc_process_build, b, &other);
    prc_process_builder_free(b);
    current = diamond();
    run_once(false);
    run_once(true);
    /* Changes are allowed again once the run is over. */
    OK(prc_process_remove_task, current, "cleanup");
    prc_process_free(current);
    prc_process_free(other);
    puts("test_run: ok");
    return 0;
}
