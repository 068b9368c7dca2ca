"""Local SMTP servers for the email channel tests, on 127.0.0.1, ports chosen by the system.

Three servers run in one asyncio loop:
  starttls  plain connection, STARTTLS required before anything else, AUTH required
  tls       TLS from the first byte (SMTPS), AUTH required
  plain     no TLS, no AUTH

Every message received is parsed with Python's email package (a different path from the
Rust side) and saved as JSON in the mail folder. When all servers listen, their ports are
written as JSON to the ready file.

Usage: smtp_server.py CERT KEY MAILDIR READY_FILE USER PASSWORD
"""

import asyncio
import email
import email.policy
import itertools
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


# One sequence for every connection of every server, so that file names never collide.
SEQUENCE = itertools.count()


class Saver:
    """Saves each message as MAILDIR/<server>-<pid>-<n>.json."""

    def __init__(self, server, maildir):
        self.server = server
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            parts.append({"type": part.get_content_type(), "body": part.get_content()})
        record = {
            "server": self.server,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(message["Subject"]),
            "to": str(message["To"]),
            "from": str(message["From"]),
            "content_type": message.get_content_type(),
            "parts": parts,
        }
        name = f"{self.server}-{os.getpid()}-{next(SEQUENCE)}.json"
        temporary = os.path.join(self.maildir, "." + name)
        with open(temporary, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(temporary, os.path.join(self.maildir, name))
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False makes aiosmtpd answer a refusal with 535 itself.
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    cert, key, maildir, ready_file, user, password = sys.argv[1:7]
    os.makedirs(maildir, exist_ok=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    check = authenticator(user, password)
    loop = asyncio.get_running_loop()

    def factory(name, **options):
        return lambda: SMTP(Saver(name, maildir), hostname="localhost", **options)

    servers = {
        "starttls": await loop.create_server(
            factory(
                "starttls",
                tls_context=context,
                require_starttls=True,
                auth_required=True,
                auth_require_tls=True,
                authenticator=check,
            ),
            "127.0.0.1",
            0,
        ),
        "tls": await loop.create_server(
            # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; this socket is TLS
            # from the first byte, so the check is off here.
            factory("tls", auth_required=True, auth_require_tls=False, authenticator=check),
            "127.0.0.1",
            0,
            ssl=context,
        ),
        "plain": await loop.create_server(factory("plain"), "127.0.0.1", 0),
    }
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    with open(ready_file + ".tmp", "w", encoding="utf-8") as out:
        json.dump(ports, out)
    os.replace(ready_file + ".tmp", ready_file)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
