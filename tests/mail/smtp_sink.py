"""A real SMTP server for the tests (aiosmtpd), on 127.0.0.1 and a free port.

Prints `listening on PORT` once it accepts connections, then writes every message it accepts to
OUT_DIR as NNNN.eml (the bytes received) and NNNN.json (the envelope, the headers the tests
check, and the decoded text and HTML parts). Runs until killed or its standard input closes.

    smtp_sink.py OUT_DIR [--starttls CERT KEY | --tls CERT KEY] [--auth USER:PASSWORD]
                 [--refuse-first N]  (answer the first N messages 451: nothing delivered)
                 [--hang-after-data] (take the message, never answer: may have been delivered)
"""

import argparse
import asyncio
import json
import ssl
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out, refuse_first, hang):
        self.out = Path(out)
        self.count = 0
        self.refused = 0
        self.refuse_first = refuse_first
        self.hang = hang

    async def handle_DATA(self, server, session, envelope):
        if self.refused < self.refuse_first:
            self.refused += 1
            return "451 4.3.0 try again later"
        self.count += 1
        stem = self.out / f"{self.count:04d}"
        stem.with_suffix(".eml").write_bytes(envelope.original_content)
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "text":
                parts[part.get_content_type()] = part.get_content()
        summary = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
            "authenticated": bool(session.authenticated),
            "content_type": message.get_content_type(),
            "headers": {k: str(message[k]) for k in ("From", "To", "Subject", "Date", "Message-ID")},
            "text": parts.get("text/plain"),
            "html": parts.get("text/html"),
        }
        tmp = stem.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary))
        tmp.rename(stem.with_suffix(".json"))
        if self.hang:
            await asyncio.sleep(3600)
        return "250 2.0.0 OK"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--starttls", nargs=2)
    parser.add_argument("--tls", nargs=2)
    parser.add_argument("--auth")
    parser.add_argument("--refuse-first", type=int, default=0)
    parser.add_argument("--hang-after-data", action="store_true")
    args = parser.parse_args()

    def context(pair):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(*pair)
        return ctx

    starttls = context(args.starttls) if args.starttls else None
    implicit = context(args.tls) if args.tls else None
    handler = Sink(args.out, args.refuse_first, args.hang_after_data)

    def authenticator(server, session, envelope, mechanism, data):
        if isinstance(data, LoginPassword) and args.auth:
            user, password = args.auth.split(":", 1)
            ok = data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok)
        return AuthResult(success=False)

    def factory():
        return SMTP(
            handler,
            hostname="sink.test",
            tls_context=starttls,
            require_starttls=False,
            authenticator=authenticator if args.auth else None,
            auth_require_tls=False,
            auth_required=bool(args.auth),
        )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(factory, "127.0.0.1", 0, ssl=implicit)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on {port}", flush=True)
    # Stop when the test that started us goes away (its end of our standard input closes).
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
