"""Decrypts an ePass sauce the way the apps' back ends do (epass.md, PyCryptodome).
Env: SAUCE, SECRET. Prints the user info JSON; exits non-zero when the sauce does not verify."""
import base64
import json
import os

from Crypto.Cipher import AES

sauce = os.environ["SAUCE"]
key = os.environ["SECRET"].encode("utf-8")
raw = base64.urlsafe_b64decode(sauce + "=" * (-len(sauce) % 4))
iv, ct = raw[:12], raw[12:]
plain = AES.new(key, AES.MODE_GCM, nonce=iv).decrypt_and_verify(ct[:-16], ct[-16:])
print(json.dumps(json.loads(plain)))
