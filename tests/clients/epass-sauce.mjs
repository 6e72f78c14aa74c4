// Decrypts an ePass sauce with WebCrypto, as epass.md's browser/Node recipe does.
// Env: SAUCE, SECRET. Prints the user info JSON; exits non-zero when the sauce does not verify.
const raw = Buffer.from(process.env.SAUCE, 'base64url');
const iv = raw.subarray(0, 12);
const ct = raw.subarray(12);
const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(process.env.SECRET), { name: 'AES-GCM' }, false, ['decrypt']);
const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
console.log(new TextDecoder().decode(plain));
