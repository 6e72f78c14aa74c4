"""A real SMTP server for the email tests (aiosmtpd). Each message it accepts is written to
OUT_DIR as one JSON file: envelope sender and receivers, subject, From header, the decoded
plain-text and HTML bodies, and whether the session authenticated and used TLS. With SMTP_USER
and SMTP_PASSWORD set it requires AUTH. With SMTP_TLS=starttls (or implicit) and SMTP_CERT /
SMTP_KEY it requires STARTTLS before AUTH (or speaks TLS from the first byte).

Usage: python3 smtp_receiver.py PORT OUT_DIR   (prints "ready" once it accepts connections)
"""
import email
import email.policy
import json
import os
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        record = {
            "mail_from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "from": str(message["From"]),
            "subject": str(message["Subject"]),
            "text": text.get_content() if text is not None else "",
            "html": html.get_content() if html is not None else "",
            "authenticated": session.authenticated,
            "tls": session.ssl is not None,
        }
        with self.lock:
            self.count += 1
            name = f"{time.time_ns()}-{self.count}.json"
        path = os.path.join(self.out_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok)

    return check


def main():
    port = int(sys.argv[1])
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    user = os.environ.get("SMTP_USER")
    password = os.environ.get("SMTP_PASSWORD")
    options = {}
    if user and password:
        options = dict(
            authenticator=authenticator(user, password),
            auth_required=True,
            auth_require_tls=False,
        )
    mode = os.environ.get("SMTP_TLS", "")
    if mode:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(os.environ["SMTP_CERT"], os.environ["SMTP_KEY"])
        if mode == "starttls":
            options.update(tls_context=context, require_starttls=True)
            options["auth_require_tls"] = True
        else:
            options.update(ssl_context=context)
    controller = Controller(Store(out_dir), hostname="127.0.0.1", port=port, **options)
    controller.start()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
