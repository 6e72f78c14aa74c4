// Plays the user in headless Chromium for clients written in other languages: opens the
// authorization URL, signs up (or in) and consents, prints the URL the browser was sent back to.
// Usage: node drive.mjs AUTHORIZATION_URL REDIRECT_URI   (env: EMAIL, PASSWORD, SIGN_UP=1)
import { need, signInOnce } from './lib/browser.mjs';

const [startUrl, redirectUri] = process.argv.slice(2);
if (!startUrl || !redirectUri) throw new Error('usage: node drive.mjs AUTHORIZATION_URL REDIRECT_URI');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: process.env.SIGN_UP === '1' };
process.stdout.write(`${await signInOnce(startUrl, { redirectUri, user })}\n`);
