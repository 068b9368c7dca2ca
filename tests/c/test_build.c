/* Declaring tasks, building processes in any order, and changing them: every setter with
 * good and bad input, every graph error, and finalizers called exactly once. */
#include "check.h"

static int finalized;

static void finalize(void *user_data)
{
    CHECK(user_data == &finalized);
    finalized++;
}

static uint32_t succeed(void *user_data, prc_context *context)
{
    (void)user_data;
    (void)context;
    return PRC_OUTCOME_SUCCESS;
}

static prc_task *task(const char *name)
{
    prc_task *out = NULL;
    OK(prc_task_new, name, succeed, NULL, NULL, &out);
    return out;
}

static void test_task_setters(void)
{
    prc_task *t = task("Extract");
    CHECK(strcmp(prc_task_name(t), "extract") == 0);
    CHECK(prc_task_name(NULL) == NULL);

    prc_value *v = int_value(1);
    OK(prc_task_add_arg, t, v);
    OK(prc_task_set_kwarg, t, "limit", v);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "empty name", prc_task_set_kwarg, t, "", v);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_add_arg, t, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_add_arg, NULL, v);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_kwarg, t, NULL, v);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_kwarg, t, "x", NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_set_kwarg, t, "\xff", v);
    prc_value_free(v);

    OK(prc_task_add_dependency, t, "a", PRC_INJECTION_NONE, NULL);
    OK(prc_task_add_dependency, t, "b", PRC_INJECTION_POSITIONAL, NULL);
    OK(prc_task_add_dependency, t, "c", PRC_INJECTION_NAMED, "cee");
    OK(prc_task_add_dependency, t, "d", PRC_INJECTION_BOTH, "dee");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "`arg_name`", prc_task_add_dependency, t, "e",
               PRC_INJECTION_NAMED, NULL);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "`arg_name`", prc_task_add_dependency, t, "e",
               PRC_INJECTION_BOTH, "");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "not a prc_injection", prc_task_add_dependency, t,
               "e", 4, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_add_dependency, t, NULL, 0, NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_add_dependency, t, "\xc3", 0, NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_add_dependency, t, "e", 2, "\xc3");

    OK(prc_task_set_timeout, t, 1.5);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "task \"extract\": field `timeout`",
               prc_task_set_timeout, t, -1.0);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_task_set_timeout, t, 0.0);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_task_set_timeout, t, 0.0 / 0.0);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_task_set_timeout, t, 1e300);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_timeout, NULL, 1.0);

    OK(prc_task_set_retries, t, 3);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_retries, NULL, 3);
    const char *kinds[] = {"error", "ValueError"};
    OK(prc_task_set_retry_on, t, kinds, 2);
    OK(prc_task_set_retry_on, t, NULL, 0);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_retry_on, t, NULL, 1);
    const char *bad_kinds[] = {"error", NULL};
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "kinds[1]", prc_task_set_retry_on, t, bad_kinds, 2);
    const char *utf_kinds[] = {"\xff"};
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_set_retry_on, t, utf_kinds, 1);

    OK(prc_task_set_backoff_none, t);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_backoff_none, NULL);
    OK(prc_task_set_backoff_fixed, t, 0.01);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`task`", prc_task_set_backoff_fixed, NULL, 0.01);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "backoff.delay", prc_task_set_backoff_fixed, t,
               -0.5);
    OK(prc_task_set_backoff_exponential, t, 0.01, 2.0, 1.0, 0.5);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`task`", prc_task_set_backoff_exponential, NULL,
               0.01, 2.0, 1.0, 0.5);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "backoff.factor",
               prc_task_set_backoff_exponential, t, 0.01, 0.5, 1.0, 0.5);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "backoff.jitter",
               prc_task_set_backoff_exponential, t, 0.01, 2.0, 1.0, 1.5);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "backoff.max", prc_task_set_backoff_exponential,
               t, 0.01, 2.0, -1.0, 0.5);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "backoff.initial",
               prc_task_set_backoff_exponential, t, -0.01, 2.0, 1.0, 0.5);

    OK(prc_task_set_trigger_rule, t, PRC_TRIGGER_RULE_ALL_DONE);
    OK(prc_task_set_trigger_rule, t, PRC_TRIGGER_RULE_ALL_SUCCESS);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "trigger_rule", prc_task_set_trigger_rule, t, 2);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`task`", prc_task_set_trigger_rule, NULL,
               PRC_TRIGGER_RULE_ALL_DONE);

    OK(prc_task_set_function, t, "extract_orders");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_function, t, NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_set_function, t, "\x80");
    OK(prc_task_set_frame_filter, t, "etl.c");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_frame_filter, t, NULL);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`filter`", prc_task_set_frame_filter, t, "\xff\xfe");
    OK(prc_task_set_log_file, t, "/tmp/processes-test.log");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "log_file", prc_task_set_log_file, t, "");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_set_log_file, t, NULL);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`path`", prc_task_set_log_file, t, "\xff\xfe");
    OK(prc_task_set_log_level, t, PRC_LOG_LEVEL_WARNING);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "log_level", prc_task_set_log_level, t, 4);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`task`", prc_task_set_log_level, NULL,
               PRC_LOG_LEVEL_INFO);
    prc_task_free(t);
    prc_task_free(NULL);

    prc_task *none = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_new, NULL, succeed, NULL, NULL, &none);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_new, "b\xe9", succeed, NULL, NULL, &none);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_task_new, "x", succeed, NULL, NULL, NULL);
    CHECK(none == NULL);
}

static void test_finalizer_runs_once(void)
{
    /* A failed prc_task_new finalizes at once. */
    prc_task *none = NULL;
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_task_new, "\xff", succeed, &finalized, finalize, &none);
    CHECK(finalized == 1);

    /* Otherwise, after the task and every copy of it are gone. */
    prc_task *t = NULL;
    OK(prc_task_new, "a", succeed, &finalized, finalize, &t);
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "fin", &b);
    OK(prc_process_builder_add_task, b, t);
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_task_free(t);
    prc_process_builder_free(b);
    CHECK(finalized == 1);
    prc_report *r = NULL;
    OK(prc_process_run, p, NULL, &r);
    prc_process_free(p);
    CHECK(finalized == 1); /* the report still holds the graph */
    prc_report_free(r);
    CHECK(finalized == 2);
}

static void test_build_any_order(void)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "etl", &b);
    prc_task *load = task("load");
    OK(prc_task_add_dependency, load, "transform", PRC_INJECTION_POSITIONAL, NULL);
    prc_task *transform = task("transform");
    OK(prc_task_add_dependency, transform, "extract", PRC_INJECTION_POSITIONAL, NULL);
    prc_task *extract = task("extract");
    OK(prc_process_builder_add_task, b, load);
    OK(prc_process_builder_add_task, b, transform);
    OK(prc_process_builder_add_task, b, extract);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_builder_add_task, b, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_builder_add_task, NULL, load);

    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_build, b, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_build, NULL, &p);
    CHECK(strcmp(prc_process_name(p), "etl") == 0);
    CHECK(prc_process_name(NULL) == NULL);
    CHECK(prc_process_len(p) == 3);
    CHECK(prc_process_len(NULL) == 0);
    CHECK(!prc_process_is_running(p));
    CHECK(!prc_process_is_running(NULL));
    const char *expected[] = {"extract", "transform", "load"};
    for (size_t i = 0; i < 3; i++) {
        char *at = NULL;
        OK(prc_process_order_at, p, i, &at);
        CHECK(strcmp(at, expected[i]) == 0);
        prc_string_free(at);
    }
    char *at = NULL;
    EXPECT_MSG(PRC_STATUS_OUT_OF_RANGE, "position 3", prc_process_order_at, p, 3, &at);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_order_at, p, 0, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_order_at, NULL, 0, &at);

    /* Mutation. */
    prc_task *audit = task("audit");
    OK(prc_task_add_dependency, audit, "load", PRC_INJECTION_NONE, NULL);
    OK(prc_process_add_task, p, audit);
    CHECK(prc_process_len(p) == 4);
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "duplicates", prc_process_add_task, p, audit);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_add_task, p, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_add_task, NULL, audit);
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "cycle", prc_process_add_dependency, p, "extract",
               "audit", PRC_INJECTION_NONE, NULL);
    EXPECT_MSG(PRC_STATUS_NOT_FOUND, "not a task", prc_process_add_dependency, p, "nope",
               "audit", PRC_INJECTION_NONE, NULL);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_process_add_dependency, p, "audit", "extract", 9,
           NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_process_add_dependency, p, "\xff", "extract", 0,
           NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_add_dependency, p, "audit", NULL, 0, NULL);
    OK(prc_process_add_dependency, p, "audit", "extract", PRC_INJECTION_NAMED, "raw");
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "depend", prc_process_remove_task, p, "load");
    EXPECT_MSG(PRC_STATUS_NOT_FOUND, "not a task", prc_process_remove_task, p, "ghost");
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_process_remove_task, p, "\xff");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_remove_task, p, NULL);
    OK(prc_process_remove_task, p, "AUDIT");
    CHECK(prc_process_len(p) == 3);

    prc_process_free(p);
    prc_process_free(NULL);
    prc_process_builder_free(b);
    prc_process_builder_free(NULL);
    prc_task_free(load);
    prc_task_free(transform);
    prc_task_free(extract);
    prc_task_free(audit);
}

static void test_graph_errors(void)
{
    prc_process_builder *b = NULL;
    prc_process *p = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_builder_new, NULL, &b);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_process_builder_new, "\xff", &b);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_process_builder_new, "x", NULL);

    /* Missing dependency. */
    OK(prc_process_builder_new, "broken", &b);
    prc_task *a = task("a");
    OK(prc_task_add_dependency, a, "ghost", PRC_INJECTION_NONE, NULL);
    OK(prc_process_builder_add_task, b, a);
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "task \"a\": field `dependencies` names \"ghost\"",
               prc_process_build, b, &p);
    CHECK(p == NULL);
    prc_process_builder_free(b);
    prc_task_free(a);

    /* Cycle. */
    OK(prc_process_builder_new, "cycle", &b);
    a = task("a");
    prc_task *c = task("c");
    OK(prc_task_add_dependency, a, "c", PRC_INJECTION_NONE, NULL);
    OK(prc_task_add_dependency, c, "a", PRC_INJECTION_NONE, NULL);
    OK(prc_process_builder_add_task, b, a);
    OK(prc_process_builder_add_task, b, c);
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "cycle", prc_process_build, b, &p);
    prc_process_builder_free(b);
    prc_task_free(a);
    prc_task_free(c);

    /* Empty name and whitespace in a name. */
    OK(prc_process_builder_new, "names", &b);
    prc_task *empty = task("");
    OK(prc_process_builder_add_task, b, empty);
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "field `name` is empty", prc_process_build, b, &p);
    prc_process_builder_free(b);
    prc_task_free(empty);
    OK(prc_process_builder_new, "names", &b);
    prc_task *spaced = task("two words");
    OK(prc_process_builder_add_task, b, spaced);
    EXPECT_MSG(PRC_STATUS_INVALID_GRAPH, "whitespace", prc_process_build, b, &p);
    prc_process_builder_free(b);
    prc_task_free(spaced);

    /* An empty process is valid. */
    OK(prc_process_builder_new, "empty", &b);
    OK(prc_process_build, b, &p);
    CHECK(prc_process_len(p) == 0);
    prc_process_free(p);
    prc_process_builder_free(b);
}

int main(void)
{
    watchdog(30);
    test_task_setters();
    test_finalizer_runs_once();
    test_build_any_order();
    test_graph_errors();
    puts("test_build: ok");
    return 0;
}
