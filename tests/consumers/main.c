/* The consumer projects' program: builds a two-task graph against an installed processes,
 * runs it and checks the result, printing "consumer: ok". */
#include <stdio.h>
#include <string.h>

#include <processes.h>

static uint32_t double_it(void *user_data, prc_context *ctx)
{
    (void)user_data;
    size_t count = 0;
    int64_t n = 21;
    const prc_value *arg = NULL;
    if (prc_context_arg_count(ctx, &count, NULL) == PRC_STATUS_OK && count == 1 &&
        prc_context_arg(ctx, 0, &arg, NULL) == PRC_STATUS_OK) {
        prc_value_as_int(arg, &n, NULL);
    }
    prc_value *result = prc_value_new_int(n * 2);
    prc_context_set_result(ctx, result, NULL);
    prc_value_free(result);
    return PRC_OUTCOME_SUCCESS;
}

int main(void)
{
    prc_process_builder *builder = NULL;
    prc_task *second = NULL, *first = NULL;
    prc_process *process = NULL;
    prc_report *report = NULL;
    const prc_entry *entry = NULL;
    int64_t result = 0;
    int ok = strcmp(prc_version(), PRC_VERSION_STRING) == 0 &&
             prc_process_builder_new("consumer", &builder, NULL) == PRC_STATUS_OK &&
             prc_task_new("second", double_it, NULL, NULL, &second, NULL) == PRC_STATUS_OK &&
             prc_task_add_dependency(second, "first", PRC_INJECTION_POSITIONAL, NULL, NULL) ==
                 PRC_STATUS_OK &&
             prc_task_new("first", double_it, NULL, NULL, &first, NULL) == PRC_STATUS_OK &&
             prc_process_builder_add_task(builder, second, NULL) == PRC_STATUS_OK &&
             prc_process_builder_add_task(builder, first, NULL) == PRC_STATUS_OK &&
             prc_process_build(builder, &process, NULL) == PRC_STATUS_OK &&
             prc_process_run(process, NULL, &report, NULL) == PRC_STATUS_OK &&
             prc_report_find(report, "second", &entry, NULL) == PRC_STATUS_OK &&
             prc_value_as_int(prc_entry_result(entry), &result, NULL) == PRC_STATUS_OK &&
             result == 84;
    prc_report_free(report);
    prc_process_free(process);
    prc_task_free(first);
    prc_task_free(second);
    prc_process_builder_free(builder);
    puts(ok ? "consumer: ok" : "consumer: FAILED");
    return ok ? 0 : 1;
}
