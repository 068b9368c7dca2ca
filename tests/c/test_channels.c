/* Report channels from C against real servers on 127.0.0.1 that this test runs itself: an
 * HTTP receiver for the webhook and a plain SMTP server for email, plus an HTML file. Also
 * every config check, the notify filters and their outcomes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>

#include "check.h"

/* Whether `haystack` contains `needle`, ignoring ASCII case (header names). */
static bool contains_ci(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack != '\0'; haystack++) {
        size_t i = 0;
        while (i < n && haystack[i] != '\0' &&
               tolower((unsigned char)haystack[i]) == tolower((unsigned char)needle[i])) {
            i++;
        }
        if (i == n) return true;
    }
    return false;
}

/* ---- a one-thread TCP server that handles `expected` connections ------------------------ */

enum { CAPTURE = 1 << 16 };

struct server {
    int fd;
    int port;
    int expected;
    int http_status;         /* for the HTTP server */
    char captured[CAPTURE]; /* everything the clients sent, concatenated */
    size_t used;
    pthread_t thread;
};

static void capture(struct server *s, const char *data, size_t len)
{
    if (s->used + len >= CAPTURE) len = CAPTURE - 1 - s->used;
    memcpy(s->captured + s->used, data, len);
    s->used += len;
    s->captured[s->used] = '\0';
}

static void listen_on_loopback(struct server *s)
{
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(s->fd >= 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(s->fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(s->fd, 4) == 0);
    socklen_t len = sizeof addr;
    CHECK(getsockname(s->fd, (struct sockaddr *)&addr, &len) == 0);
    s->port = ntohs(addr.sin_port);
}

/* Reads one CRLF-terminated line (without the CRLF); returns its length or -1. */
static int read_line(int fd, char *line, size_t size)
{
    size_t n = 0;
    char c;
    while (read(fd, &c, 1) == 1) {
        if (c == '\n') {
            if (n > 0 && line[n - 1] == '\r') n--;
            line[n] = '\0';
            return (int)n;
        }
        if (n + 1 < size) line[n++] = c;
    }
    return -1;
}

static void say(int fd, const char *text)
{
    size_t len = strlen(text);
    CHECK(write(fd, text, len) == (ssize_t)len);
}

static void *http_serve(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < s->expected; i++) {
        int client = accept(s->fd, NULL, NULL);
        CHECK(client >= 0);
        char line[4096];
        long length = 0;
        while (read_line(client, line, sizeof line) > 0) {
            capture(s, line, strlen(line));
            capture(s, "\n", 1);
            if (strncasecmp(line, "content-length:", 15) == 0) length = atol(line + 15);
        }
        while (length > 0) {
            char body[4096];
            ssize_t got = read(client, body, length < 4096 ? (size_t)length : sizeof body);
            if (got <= 0) break;
            capture(s, body, (size_t)got);
            length -= got;
        }
        char answer[128];
        snprintf(answer, sizeof answer,
                 "HTTP/1.1 %d Test\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope",
                 s->http_status);
        say(client, answer);
        close(client);
    }
    return NULL;
}

static void *smtp_serve(void *arg)
{
    struct server *s = arg;
    for (int i = 0; i < s->expected; i++) {
        int client = accept(s->fd, NULL, NULL);
        CHECK(client >= 0);
        say(client, "220 localhost test SMTP\r\n");
        char line[8192];
        while (read_line(client, line, sizeof line) >= 0) {
            capture(s, line, strlen(line));
            capture(s, "\n", 1);
            if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "HELO", 4) == 0) {
                say(client, "250 localhost\r\n");
            } else if (strncasecmp(line, "DATA", 4) == 0) {
                say(client, "354 end with a dot\r\n");
                while (read_line(client, line, sizeof line) >= 0 && strcmp(line, ".") != 0) {
                    capture(s, line, strlen(line));
                    capture(s, "\n", 1);
                }
                say(client, "250 queued\r\n");
            } else if (strncasecmp(line, "QUIT", 4) == 0) {
                say(client, "221 bye\r\n");
                break;
            } else {
                say(client, "250 OK\r\n");
            }
        }
        close(client);
    }
    return NULL;
}

static void start(struct server *s, void *(*serve)(void *), int expected, int http_status)
{
    memset(s, 0, sizeof *s);
    s->expected = expected;
    s->http_status = http_status;
    listen_on_loopback(s);
    CHECK(pthread_create(&s->thread, NULL, serve, s) == 0);
}

static void stop(struct server *s)
{
    CHECK(pthread_join(s->thread, NULL) == 0);
    close(s->fd);
}

/* ---- a report to send --------------------------------------------------------------------- */

static uint32_t ok_task(void *user_data, prc_context *ctx)
{
    (void)user_data;
    (void)ctx;
    return PRC_OUTCOME_SUCCESS;
}

static uint32_t failing_task(void *user_data, prc_context *ctx)
{
    (void)user_data;
    OK(prc_context_trace, ctx, "rows", "3");
    OK(prc_context_fail, ctx, "AuditError", "audit found 3 orders above the threshold",
       "Traceback: audit()", NULL);
    return PRC_OUTCOME_FAILURE;
}

static prc_report *report(bool with_failure)
{
    prc_process_builder *b = NULL;
    OK(prc_process_builder_new, "notified", &b);
    prc_task *t = NULL;
    OK(prc_task_new, "extract", ok_task, NULL, NULL, &t);
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
    OK(prc_task_new, "audit", with_failure ? failing_task : ok_task, NULL, NULL, &t);
    OK(prc_process_builder_add_task, b, t);
    prc_task_free(t);
    prc_process *p = NULL;
    OK(prc_process_build, b, &p);
    prc_process_builder_free(b);
    prc_report *r = NULL;
    OK(prc_process_run, p, NULL, &r);
    prc_process_free(p);
    return r;
}

static void expect_outcome(const prc_notify_outcomes *o, size_t i, uint32_t want,
                           const char *needle)
{
    uint32_t kind = 99;
    const char *message = NULL;
    OK(prc_notify_outcomes_get, o, i, &kind, &message);
    if (kind != want || strstr(message, needle) == NULL) {
        fprintf(stderr, "outcome %zu: kind %u (%s), wanted %u with \"%s\"\n", i, kind, message,
                want, needle);
        exit(1);
    }
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static char content[1 << 20];
    size_t n = fread(content, 1, sizeof content - 1, f);
    content[n] = '\0';
    fclose(f);
    return content;
}

/* ---- the library's own log records ------------------------------------------------------ */

struct log_seen {
    pthread_mutex_t lock;
    int warnings, finalized;
    char last[512];
};

static void on_log(void *user_data, uint32_t level, const char *target, const char *message)
{
    struct log_seen *seen = user_data;
    pthread_mutex_lock(&seen->lock);
    if (level == PRC_LOG_LEVEL_WARNING && strncmp(target, "processes", 9) == 0) {
        seen->warnings++;
        snprintf(seen->last, sizeof seen->last, "%s", message);
    }
    pthread_mutex_unlock(&seen->lock);
}

static void on_log_done(void *user_data)
{
    ((struct log_seen *)user_data)->finalized++;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_delivery(const char *dir)
{
    struct server hook, refusing, smtp;
    start(&hook, http_serve, 1, 200);
    start(&refusing, http_serve, 1, 500);
    start(&smtp, smtp_serve, 1, 0);
    char url[128], path[1024];

    prc_webhook_config *wc = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", hook.port);
    OK(prc_webhook_config_new, url, &wc);
    OK(prc_webhook_config_add_header, wc, "X-Test", "yes");
    OK(prc_webhook_config_set_secret, wc, (const uint8_t *)"s3cret", 6);
    OK(prc_webhook_config_set_timeout, wc, 5.0);
    OK(prc_webhook_config_set_extra_payload, wc, "{\"team\": \"data\"}");
    OK(prc_webhook_config_set_nest_under, wc, "report");
    prc_channel *webhook = NULL;
    OK(prc_channel_new_webhook, wc, &webhook);
    prc_webhook_config_free(wc);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", refusing.port);
    OK(prc_webhook_config_new, url, &wc);
    prc_channel *refused = NULL;
    OK(prc_channel_new_webhook, wc, &refused);
    prc_webhook_config_free(wc);

    prc_email_config *ec = NULL;
    OK(prc_email_config_new, "127.0.0.1", "Reports <reports@example.com>", &ec);
    OK(prc_email_config_set_port, ec, (uint16_t)smtp.port);
    OK(prc_email_config_set_security, ec, PRC_EMAIL_SECURITY_NONE);
    OK(prc_email_config_add_recipient, ec, "ops@example.com");
    OK(prc_email_config_set_timeout, ec, 5.0);
    OK(prc_email_config_set_style, ec, "slate", "fr", true, false);
    prc_channel *email = NULL;
    OK(prc_channel_new_email, ec, &email);
    prc_email_config_free(ec);
    CHECK(strstr(prc_channel_describe(email), "email to 127.0.0.1") != NULL);

    snprintf(path, sizeof path, "%s/channels-out/report.html", dir);
    remove(path);
    prc_html_file_config *fc = NULL;
    OK(prc_html_file_config_new, path, &fc);
    OK(prc_html_file_config_set_style, fc, "catppuccin", NULL, true, true);
    prc_channel *file = NULL;
    OK(prc_channel_new_html_file, fc, &file);
    prc_html_file_config_free(fc);
    CHECK(strstr(prc_channel_describe(file), "report.html") != NULL);

    /* The failing channel is also logged as a warning, routed to a C callback. */
    static struct log_seen seen = {PTHREAD_MUTEX_INITIALIZER, 0, 0, ""};
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_set_log_callback, on_log, &seen, on_log_done, 7);
    CHECK(seen.finalized == 1);
    OK(prc_set_log_callback, on_log, &seen, on_log_done, PRC_LOG_LEVEL_WARNING);

    prc_report *r = report(true);
    const prc_channel *channels[] = {webhook, refused, email, file};
    prc_notify_outcomes *o = NULL;
    OK(prc_report_notify, r, channels, 4, false, NULL, 0, &o);
    CHECK(prc_notify_outcomes_len(o) == 4);
    expect_outcome(o, 0, PRC_CHANNEL_OUTCOME_DELIVERED, "delivered");
    expect_outcome(o, 1, PRC_CHANNEL_OUTCOME_FAILED, "HTTP 500");
    expect_outcome(o, 2, PRC_CHANNEL_OUTCOME_DELIVERED, "delivered");
    expect_outcome(o, 3, PRC_CHANNEL_OUTCOME_DELIVERED, "delivered");
    uint32_t kind;
    const char *message;
    EXPECT(PRC_STATUS_OUT_OF_RANGE, prc_notify_outcomes_get, o, 4, &kind, &message);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_notify_outcomes_get, o, 0, NULL, &message);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_notify_outcomes_get, o, 0, &kind, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_notify_outcomes_get, NULL, 0, &kind, &message);
    prc_notify_outcomes_free(o);
    OK(prc_set_log_callback, NULL, NULL, NULL, PRC_LOG_LEVEL_DEBUG);
    CHECK(seen.finalized == 2 && seen.warnings == 1);
    CHECK(strstr(seen.last, "HTTP 500") != NULL);
    stop(&hook);
    stop(&refusing);
    stop(&smtp);

    /* What the servers and the disk received. */
    CHECK(strstr(hook.captured, "POST /hook") != NULL);
    CHECK(contains_ci(hook.captured, "x-test: yes"));
    CHECK(contains_ci(hook.captured, "x-signature-sha256:"));
    CHECK(strstr(hook.captured, "\"team\":\"data\"") != NULL);
    CHECK(strstr(hook.captured, "\"report\":{") != NULL);
    CHECK(strstr(hook.captured, "\"process_name\":\"notified\"") != NULL);
    CHECK(strstr(smtp.captured, "RCPT TO:<ops@example.com>") != NULL);
    CHECK(strstr(smtp.captured, "MAIL FROM:<reports@example.com>") != NULL);
    CHECK(contains_ci(smtp.captured, "subject:"));
    CHECK(strstr(smtp.captured, "audit") != NULL);
    const char *html = read_file(path);
    CHECK(strstr(html, "data-task=\"audit\"") != NULL);
    CHECK(strstr(html, "audit found 3 orders above the threshold") != NULL);

    /* Filters: no errors to send, an empty task filter, an unknown task. */
    prc_report *clean = report(false);
    const prc_channel *only_file[] = {file};
    OK(prc_report_notify, clean, only_file, 1, true, NULL, 0, &o);
    expect_outcome(o, 0, PRC_CHANNEL_OUTCOME_SKIPPED_NO_ERRORS, "no errored entry");
    prc_notify_outcomes_free(o);
    const char *none[] = {NULL};
    OK(prc_report_notify, clean, only_file, 1, false, none, 0, &o);
    expect_outcome(o, 0, PRC_CHANNEL_OUTCOME_SKIPPED_NO_ENTRIES, "no entry");
    prc_notify_outcomes_free(o);
    const char *extract[] = {"EXTRACT"};
    OK(prc_report_notify, r, only_file, 1, true, extract, 1, &o);
    expect_outcome(o, 0, PRC_CHANNEL_OUTCOME_SKIPPED_NO_ERRORS, "skipped");
    prc_notify_outcomes_free(o);
    const char *ghost[] = {"ghost"};
    o = NULL;
    EXPECT_MSG(PRC_STATUS_NOT_FOUND, "field `tasks` names \"ghost\"", prc_report_notify, r,
               only_file, 1, false, ghost, 1, &o);
    CHECK(o == NULL);
    const char *bad_utf8[] = {"\xff"};
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_report_notify, r, only_file, 1, false, bad_utf8, 1,
           &o);
    const char *null_name[] = {NULL};
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_notify, r, only_file, 1, false, null_name, 1,
           &o);
    const prc_channel *null_channel[] = {NULL};
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "channels[0]", prc_report_notify, r, null_channel, 1,
               false, NULL, 0, &o);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_notify, r, NULL, 1, false, NULL, 0, &o);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_notify, NULL, only_file, 1, false, NULL, 0,
           &o);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_report_notify, r, only_file, 1, false, NULL, 0, NULL);
    OK(prc_report_notify, r, NULL, 0, false, NULL, 0, &o); /* no channel: no outcome */
    CHECK(prc_notify_outcomes_len(o) == 0);
    prc_notify_outcomes_free(o);

    prc_report_free(clean);
    prc_report_free(r);
    prc_channel_free(webhook);
    prc_channel_free(refused);
    prc_channel_free(email);
    prc_channel_free(file);
}

static void test_unreachable_email(void)
{
    struct server closed;
    listen_on_loopback(&closed);
    close(closed.fd); /* the port is now refused */
    prc_email_config *ec = NULL;
    OK(prc_email_config_new, "127.0.0.1", "reports@example.com", &ec);
    OK(prc_email_config_set_port, ec, (uint16_t)closed.port);
    OK(prc_email_config_set_security, ec, PRC_EMAIL_SECURITY_NONE);
    OK(prc_email_config_add_recipient, ec, "ops@example.com");
    OK(prc_email_config_set_timeout, ec, 2.0);
    prc_channel *email = NULL;
    OK(prc_channel_new_email, ec, &email);
    prc_email_config_free(ec);
    prc_report *r = report(true);
    const prc_channel *channels[] = {email};
    prc_notify_outcomes *o = NULL;
    OK(prc_report_notify, r, channels, 1, false, NULL, 0, &o);
    expect_outcome(o, 0, PRC_CHANNEL_OUTCOME_FAILED, "email to 127.0.0.1");
    prc_notify_outcomes_free(o);
    prc_report_free(r);
    prc_channel_free(email);
}

static void test_config_errors(void)
{
    prc_channel *ch = NULL;
    prc_email_config *ec = NULL;
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_email_config_new, NULL, "a@b.c", &ec);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_email_config_new, "h", "\xff", &ec);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_email_config_new, "h", "a@b.c", NULL);
    OK(prc_email_config_new, "smtp.example.com", "a@example.com", &ec);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "field `recipients`", prc_channel_new_email, ec,
               &ch);
    OK(prc_email_config_add_recipient, ec, "not an address");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "recipients[0]", prc_channel_new_email, ec, &ch);
    prc_email_config_free(ec);
    OK(prc_email_config_new, "smtp.example.com", "a@example.com", &ec);
    OK(prc_email_config_add_recipient, ec, "b@example.com");
    OK(prc_email_config_set_style, ec, "plaid", NULL, true, true);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "palette", prc_channel_new_email, ec, &ch);
    OK(prc_email_config_set_style, ec, "neutral", "xx", true, true);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "language", prc_channel_new_email, ec, &ch);
    OK(prc_email_config_set_style, ec, NULL, "en", true, true);
    OK(prc_email_config_set_port, ec, 0);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "field `port`", prc_channel_new_email, ec, &ch);
    OK(prc_email_config_set_port, ec, 2525);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "prc_email_security", prc_email_config_set_security,
               ec, 3);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_email_config_set_timeout, ec, -1.0);
    OK(prc_email_config_set_credentials, ec, "", "pw");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "credentials.username", prc_channel_new_email, ec,
               &ch);
    OK(prc_email_config_set_credentials, ec, "user", "pw");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_email_config_set_credentials, ec, NULL, "pw");
    OK(prc_email_config_set_tls_name, ec, "mail.example.com");
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_email_config_set_tls_name, ec, NULL);
    const char junk[] = "not a certificate";
    OK(prc_email_config_add_root_certificate, ec, (const uint8_t *)junk, sizeof junk - 1);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "root", prc_channel_new_email, ec, &ch);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_email_config_add_root_certificate, ec, NULL, 3);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_email_config_add_recipient, NULL, "x@y.z");
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_email_config_set_port, NULL, 25);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_email_config_set_security, NULL,
               PRC_EMAIL_SECURITY_NONE);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_email_config_set_timeout, NULL, 5.0);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_email_config_set_style, NULL, NULL,
               NULL, true, true);

    /* Bad UTF-8 in any string is refused, naming the argument. */
    const char *bad = "\xff\xfe";
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`name`", prc_email_config_set_tls_name, ec, bad);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`recipient`", prc_email_config_add_recipient, ec, bad);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`username`", prc_email_config_set_credentials, ec, bad,
               "pw");
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`password`", prc_email_config_set_credentials, ec,
               "user", bad);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`palette`", prc_email_config_set_style, ec, bad, NULL,
               true, true);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`language`", prc_email_config_set_style, ec, NULL, bad,
               true, true);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_channel_new_email, NULL, &ch);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_channel_new_email, ec, NULL);
    CHECK(ch == NULL);
    prc_email_config_free(ec);
    prc_email_config_free(NULL);

    prc_webhook_config *wc = NULL;
    OK(prc_webhook_config_new, "ftp://example.com/x", &wc);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "scheme", prc_channel_new_webhook, wc, &ch);
    prc_webhook_config_free(wc);
    OK(prc_webhook_config_new, "https://example.com/x", &wc);
    EXPECT_MSG(PRC_STATUS_INVALID_JSON, "extra_payload", prc_webhook_config_set_extra_payload,
               wc, "{nope");
    OK(prc_webhook_config_set_extra_payload, wc, "[1, 2]");
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "extra_payload", prc_channel_new_webhook, wc, &ch);
    EXPECT(PRC_STATUS_INVALID_ARGUMENT, prc_webhook_config_set_timeout, wc, 0.0 / 0.0);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_webhook_config_add_header, wc, "X", NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_webhook_config_set_nest_under, wc, NULL);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_webhook_config_set_secret, wc, NULL, 4);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_webhook_config_new, NULL, &wc);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_webhook_config_set_timeout, NULL, 5.0);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_webhook_config_set_extra_payload, NULL,
               "{}");
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_channel_new_webhook, NULL, &ch);
    prc_webhook_config *untouched = wc;
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`url`", prc_webhook_config_new, bad, &wc);
    CHECK(wc == untouched);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`name`", prc_webhook_config_add_header, wc, bad, "v");
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`value`", prc_webhook_config_add_header, wc, "X", bad);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`json`", prc_webhook_config_set_extra_payload, wc, bad);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`key`", prc_webhook_config_set_nest_under, wc, bad);
    prc_webhook_config_free(wc);
    prc_webhook_config_free(NULL);

    prc_html_file_config *fc = NULL;
    OK(prc_html_file_config_new, "", &fc);
    EXPECT_MSG(PRC_STATUS_INVALID_ARGUMENT, "field `path` is empty", prc_channel_new_html_file,
               fc, &ch);
    EXPECT(PRC_STATUS_INVALID_UTF8, prc_html_file_config_set_style, fc, "\xff", NULL, true,
           true);
    prc_html_file_config_free(fc);
    EXPECT(PRC_STATUS_NULL_ARGUMENT, prc_html_file_config_new, NULL, &fc);
    EXPECT_MSG(PRC_STATUS_INVALID_UTF8, "`path`", prc_html_file_config_new, bad, &fc);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_html_file_config_set_style, NULL,
               "slate", NULL, true, true);
    EXPECT_MSG(PRC_STATUS_NULL_ARGUMENT, "`config`", prc_channel_new_html_file, NULL, &ch);
    CHECK(ch == NULL);
    prc_html_file_config_free(NULL);
    CHECK(prc_channel_describe(NULL) == NULL);
    prc_channel_free(NULL);
    CHECK(prc_notify_outcomes_len(NULL) == 0);
    prc_notify_outcomes_free(NULL);
}

int main(int argc, char **argv)
{
    watchdog(60);
    CHECK(argc > 1);
    test_config_errors();
    test_unreachable_email();
    test_delivery(argv[1]);
    puts("test_channels: ok");
    return 0;
}
