/* Values, errors, strings and the version: every constructor and accessor, wrong types, NULL
 * arguments, bad UTF-8, bad JSON, and host objects dropped exactly once. */
#include "check.h"

static int drops;
static void *dropped_with;

static void drop_object(void *data)
{
    drops++;
    dropped_with = data;
}

static void test_version(void)
{
    CHECK(strcmp(prc_version(), PRC_VERSION_STRING) == 0);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", PRC_VERSION_MAJOR, PRC_VERSION_MINOR,
             PRC_VERSION_PATCH);
    CHECK(strcmp(prc_version(), expected) == 0);
}

static void test_errors_and_statuses(void)
{
    CHECK(prc_error_message(NULL) == NULL);
    CHECK(prc_error_status(NULL) == PRC_STATUS_NULL_ARGUMENT);
    prc_error_free(NULL);
    prc_string_free(NULL);
    CHECK(strcmp(prc_status_name(PRC_STATUS_OK), "PRC_STATUS_OK") == 0);
    CHECK(strcmp(prc_status_name(PRC_STATUS_WRONG_STATE), "PRC_STATUS_WRONG_STATE") == 0);
    CHECK(strcmp(prc_status_name(9999), "PRC_STATUS_UNKNOWN") == 0);

    /* The error out-parameter is optional. */
    CHECK(prc_value_new_text(NULL, NULL, NULL) == PRC_STATUS_NULL_ARGUMENT);
    /* Outputs are written only on success. */
    prc_value *untouched = (prc_value *)&drops;
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`text`", prc_value_new_text, NULL, &untouched);
    CHECK(untouched == (prc_value *)&drops);
}

static void test_scalars(void)
{
    prc_value *n = prc_value_new_null();
    prc_value *b = prc_value_new_bool(true);
    prc_value *i = prc_value_new_int(-42);
    prc_value *f = prc_value_new_float(2.5);
    CHECK(prc_value_type_of(n) == PRC_VALUE_TYPE_NULL);
    CHECK(prc_value_type_of(b) == PRC_VALUE_TYPE_BOOL);
    CHECK(prc_value_type_of(i) == PRC_VALUE_TYPE_INT);
    CHECK(prc_value_type_of(f) == PRC_VALUE_TYPE_FLOAT);
    CHECK(prc_value_type_of(NULL) == PRC_VALUE_TYPE_NULL);

    bool bv = false;
    int64_t iv = 0;
    double fv = 0;
    OK(prc_value_as_bool, b, &bv);
    CHECK(bv);
    OK(prc_value_as_int, i, &iv);
    CHECK(iv == -42);
    OK(prc_value_as_float, f, &fv);
    CHECK(fv == 2.5);
    OK(prc_value_as_float, i, &fv); /* an int widens */
    CHECK(fv == -42.0);

    EXPECT_MSG(PRC_STATUS_WRONG_TYPE, "the value is float, not int", prc_value_as_int, f, &iv);
    EXPECT(PRC_STATUS_WRONG_TYPE, prc_value_as_bool, n, &bv);
    EXPECT(PRC_STATUS_WRONG_TYPE, prc_value_as_float, b, &fv);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_int, NULL, &iv);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_int, i, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_bool, NULL, &bv);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_float, f, NULL);

    char *text = prc_value_display(f);
    CHECK(strcmp(text, "2.5") == 0);
    prc_string_free(text);
    text = prc_value_display(n);
    CHECK(strcmp(text, "null") == 0);
    prc_string_free(text);
    CHECK(prc_value_display(NULL) == NULL);

    prc_value_free(n);
    prc_value_free(b);
    prc_value_free(i);
    prc_value_free(f);
    prc_value_free(NULL);
}

static void test_text_bytes_json(void)
{
    prc_value *text = NULL;
    OK(prc_value_new_text, "h\xc3\xa9llo", &text);
    const char *data = NULL;
    size_t len = 0;
    OK(prc_value_as_text, text, &data, &len);
    CHECK(len == 6 && memcmp(data, "h\xc3\xa9llo", 6) == 0);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_text, text, NULL, &len);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_text, text, &data, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_text, NULL, &data, &len);

    /* A clone shares the same storage. */
    prc_value *copy = prc_value_clone(text);
    const char *copy_data = NULL;
    OK(prc_value_as_text, copy, &copy_data, &len);
    CHECK(copy_data == data);
    CHECK(prc_value_clone(NULL) == NULL);
    prc_value_free(text);
    OK(prc_value_as_text, copy, &copy_data, &len); /* still alive through the clone */
    CHECK(len == 6);
    prc_value_free(copy);

    prc_value *bad = NULL;
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "offset 1", prc_value_new_text, "a\xff", &bad);
    CHECK(bad == NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_new_text, "x", NULL);

    const uint8_t raw[] = {0, 'a', 0xff};
    prc_value *bytes = NULL;
    OK(prc_value_new_bytes, raw, sizeof raw, &bytes);
    CHECK(prc_value_type_of(bytes) == PRC_VALUE_TYPE_BYTES);
    const uint8_t *bdata = NULL;
    OK(prc_value_as_bytes, bytes, &bdata, &len);
    CHECK(len == 3 && memcmp(bdata, raw, 3) == 0);
    EXPECT(PRC_STATUS_WRONG_TYPE, prc_value_as_text, bytes, &data, &len);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_bytes, bytes, NULL, &len);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_bytes, bytes, &bdata, NULL);
    char *shown = prc_value_display(bytes);
    CHECK(strcmp(shown, "b\"\\x00a\\xff\"") == 0);
    prc_string_free(shown);
    prc_value_free(bytes);
    prc_value *empty = NULL;
    OK(prc_value_new_bytes, NULL, 0, &empty);
    prc_value_free(empty);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_new_bytes, NULL, 3, &empty);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_new_bytes, raw, 1, NULL);

    prc_value *json = NULL;
    OK(prc_value_new_json, "{ \"a\": [1, 2] }", &json);
    CHECK(prc_value_type_of(json) == PRC_VALUE_TYPE_JSON);
    char *compact = NULL;
    OK(prc_value_as_json, json, &compact);
    CHECK(strcmp(compact, "{\"a\":[1,2]}") == 0);
    prc_string_free(compact);
    EXPECT(PRC_STATUS_WRONG_TYPE, prc_value_as_bytes, json, &bdata, &len);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_json, json, NULL);
    prc_value_free(json);
    json = NULL;
    EXPECT_MSG(PRC_STATUS_INVALID_JSON, "line 1", prc_value_new_json, "{oops", &json);
    CHECK(json == NULL);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_value_new_json, "\"\xc0\"", &json);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_new_json, NULL, &json);
    prc_value *number = int_value(3);
    EXPECT(PRC_STATUS_WRONG_TYPE, prc_value_as_json, number, &compact);
    prc_value_free(number);
}

static void test_foreign(void)
{
    int object = 7;
    prc_value *foreign = NULL;
    OK(prc_value_new_foreign, &object, drop_object, "object #7", &foreign);
    CHECK(prc_value_type_of(foreign) == PRC_VALUE_TYPE_FOREIGN);
    void *back = NULL;
    OK(prc_value_as_foreign, foreign, &back);
    CHECK(back == &object);
    char *shown = prc_value_display(foreign);
    CHECK(strcmp(shown, "object #7") == 0);
    prc_string_free(shown);

    /* Copies share the object: it is dropped once, when the last copy goes. */
    prc_value *copy = prc_value_clone(foreign);
    prc_value_free(foreign);
    CHECK(drops == 0);
    prc_value_free(copy);
    CHECK(drops == 1 && dropped_with == &object);

    /* No display text and no drop function are both allowed. */
    prc_value *plain = NULL;
    OK(prc_value_new_foreign, &object, NULL, NULL, &plain);
    shown = prc_value_display(plain);
    CHECK(strcmp(shown, "<foreign>") == 0);
    prc_string_free(shown);
    prc_value_free(plain);
    CHECK(drops == 1);

    /* A failed call leaves the object to the caller: no drop. */
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_value_new_foreign, &object, drop_object, "\xfe", &plain);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_new_foreign, &object, drop_object, "x", NULL);
    CHECK(drops == 1);

    prc_value *number = int_value(1);
    EXPECT(PRC_STATUS_WRONG_TYPE, prc_value_as_foreign, number, &back);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_value_as_foreign, number, NULL);
    prc_value_free(number);
}

int main(void)
{
    watchdog(30);
    test_version();
    test_errors_and_statuses();
    test_scalars();
    test_text_bytes_json();
    test_foreign();
    puts("test_values: ok");
    return 0;
}
