/* The quick-start pipeline in C: a small ETL graph declared in any order, with a positional
 * and a named injection, a log file shared by every task, one failing branch that skips only
 * its dependents, and the report printed.
 *
 * Build it with CMake (see the README) and run `quickstart [log-file [html-file]]`: the
 * report is printed and also written as an HTML page through a report channel. */
#include <stdio.h>
#include <stdlib.h>

#include "processes.h"

/* Stops the program with the library's message when a call fails. */
static void check(prc_status status, prc_error *error)
{
    if (status != PRC_STATUS_OK) {
        fprintf(stderr, "processes: %s\n", prc_error_message(error));
        prc_error_free(error);
        exit(1);
    }
}

static int64_t int_arg(prc_context *ctx, size_t index)
{
    const prc_value *value = NULL;
    int64_t n = 0;
    check(prc_context_arg(ctx, index, &value, NULL), NULL);
    check(prc_value_as_int(value, &n, NULL), NULL);
    return n;
}

static uint32_t return_int(prc_context *ctx, int64_t n)
{
    prc_value *value = prc_value_new_int(n);
    prc_status status = prc_context_set_result(ctx, value, NULL);
    prc_value_free(value);
    return status == PRC_STATUS_OK ? PRC_OUTCOME_SUCCESS : PRC_OUTCOME_FAILURE;
}

static uint32_t extract_orders(void *user_data, prc_context *ctx)
{
    (void)user_data;
    prc_context_log(ctx, PRC_LOG_LEVEL_INFO, "read 3 orders", NULL);
    return return_int(ctx, 3);
}

static uint32_t transform_orders(void *user_data, prc_context *ctx)
{
    (void)user_data;
    return return_int(ctx, int_arg(ctx, 0) * 10);
}

static uint32_t load_orders(void *user_data, prc_context *ctx)
{
    (void)user_data;
    return return_int(ctx, int_arg(ctx, 0));
}

static uint32_t audit_orders(void *user_data, prc_context *ctx)
{
    (void)user_data;
    prc_context_trace(ctx, "threshold", "0.25", NULL);
    prc_context_fail(ctx, "AuditError", "audit found 3 orders above the threshold", NULL,
                     "quickstart.c:61", NULL);
    return PRC_OUTCOME_FAILURE;
}

static uint32_t write_report(void *user_data, prc_context *ctx)
{
    (void)user_data;
    const prc_value *rows = NULL;
    int64_t n = 0;
    check(prc_context_kwarg(ctx, "rows", &rows, NULL), NULL);
    check(prc_value_as_int(rows, &n, NULL), NULL);
    char text[64];
    snprintf(text, sizeof text, "loaded %lld rows", (long long)n);
    prc_value *result = NULL;
    check(prc_value_new_text(text, &result, NULL), NULL);
    prc_context_set_result(ctx, result, NULL);
    prc_value_free(result);
    return PRC_OUTCOME_SUCCESS;
}

static uint32_t archive_raw(void *user_data, prc_context *ctx)
{
    (void)user_data;
    (void)ctx;
    return PRC_OUTCOME_SUCCESS;
}

/* Declares one task and adds it to the builder. `after` is a dependency (or NULL) whose
 * result is injected as `injection`, named `arg_name` when named. */
static void task(prc_process_builder *builder, const char *name, prc_task_fn fn,
                 const char *after, prc_injection injection, const char *arg_name,
                 const char *log_file)
{
    prc_task *t = NULL;
    prc_error *error = NULL;
    check(prc_task_new(name, fn, NULL, NULL, &t, &error), error);
    if (after != NULL) {
        check(prc_task_add_dependency(t, after, injection, arg_name, &error), error);
    }
    check(prc_task_set_log_file(t, log_file, &error), error);
    check(prc_process_builder_add_task(builder, t, &error), error);
    prc_task_free(t);
}

int main(int argc, char **argv)
{
    const char *log_file = argc > 1 ? argv[1] : "quickstart.log";
    prc_process_builder *builder = NULL;
    prc_error *error = NULL;
    check(prc_process_builder_new("quickstart", &builder, &error), error);

    /* The report comes first to show that order is free: it waits for load (its result
     * arrives as the named argument "rows") and for audit (order only). */
    task(builder, "report", write_report, "load", PRC_INJECTION_NAMED, "rows", log_file);
    task(builder, "extract", extract_orders, NULL, PRC_INJECTION_NONE, NULL, log_file);
    task(builder, "transform", transform_orders, "extract", PRC_INJECTION_POSITIONAL, NULL,
         log_file);
    task(builder, "load", load_orders, "transform", PRC_INJECTION_POSITIONAL, NULL, log_file);
    task(builder, "audit", audit_orders, NULL, PRC_INJECTION_NONE, NULL, log_file);
    task(builder, "archive", archive_raw, "extract", PRC_INJECTION_NONE, NULL, log_file);

    prc_process *process = NULL;
    check(prc_process_build(builder, &process, &error), error);
    prc_process_builder_free(builder);
    check(prc_process_add_dependency(process, "report", "audit", PRC_INJECTION_NONE, NULL,
                                     &error),
          error);

    prc_report *report = NULL;
    check(prc_process_run(process, NULL, &report, &error), error);
    for (size_t i = 0; i < prc_report_len(report); i++) {
        const prc_entry *entry = NULL;
        check(prc_report_entry(report, i, &entry, &error), error);
        printf("%-10s %-9s %8.3f ms", prc_entry_name(entry),
               prc_entry_status(entry) == PRC_TASK_STATUS_SUCCESS   ? "success"
               : prc_entry_status(entry) == PRC_TASK_STATUS_ERRORED ? "errored"
               : prc_entry_status(entry) == PRC_TASK_STATUS_SKIPPED ? "skipped"
                                                                    : "cancelled",
               prc_entry_elapsed_seconds(entry) * 1e3);
        const prc_value *result = prc_entry_result(entry);
        if (result != NULL) {
            char *text = prc_value_display(result);
            printf("  -> %s", text);
            prc_string_free(text);
        }
        if (prc_entry_error_message(entry) != NULL) {
            printf("  !! %s (took down:", prc_entry_error_message(entry));
            for (size_t d = 0; d < prc_entry_downstream_count(entry); d++) {
                const char *name = NULL;
                check(prc_entry_downstream(entry, d, &name, &error), error);
                printf(" %s", name);
            }
            printf(")");
        }
        printf("\n");
    }
    prc_counts counts;
    check(prc_report_counts(report, &counts, &error), error);
    printf("%zu succeeded, %zu errored, %zu skipped\n", counts.success, counts.errored,
           counts.skipped);

    /* The same report as a styled HTML page. */
    const char *html_file = argc > 2 ? argv[2] : "quickstart-report.html";
    prc_html_file_config *config = NULL;
    prc_channel *channel = NULL;
    prc_notify_outcomes *outcomes = NULL;
    check(prc_html_file_config_new(html_file, &config, &error), error);
    check(prc_channel_new_html_file(config, &channel, &error), error);
    prc_html_file_config_free(config);
    const prc_channel *channels[] = {channel};
    check(prc_report_notify(report, channels, 1, false, NULL, 0, &outcomes, &error), error);
    uint32_t kind = 0;
    const char *outcome = NULL;
    check(prc_notify_outcomes_get(outcomes, 0, &kind, &outcome, &error), error);
    printf("%s: %s\n", prc_channel_describe(channel), outcome);
    prc_notify_outcomes_free(outcomes);
    prc_channel_free(channel);

    prc_report_free(report);
    prc_process_free(process);
    return kind == PRC_CHANNEL_OUTCOME_DELIVERED ? 0 : 1;
}
