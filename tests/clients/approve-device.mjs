// Plays the user of a device sign-in in headless Chromium for clients written in other
// languages: opens the verification URI, checks the code, signs up (or in), consents and allows.
// Usage: node approve-device.mjs VERIFICATION_URI_COMPLETE USER_CODE   (env: EMAIL, PASSWORD, SIGN_UP=1)
import { approveDevice, launch, need } from './lib/browser.mjs';

const [verificationUri, userCode] = process.argv.slice(2);
if (!verificationUri || !userCode) throw new Error('usage: node approve-device.mjs VERIFICATION_URI_COMPLETE USER_CODE');
const user = { email: need('EMAIL'), password: need('PASSWORD'), signUp: process.env.SIGN_UP === '1' };
const browser = await launch();
try {
  const page = await (await browser.newContext()).newPage();
  const heading = await approveDevice(page, verificationUri, { userCode, user });
  process.stdout.write(`${heading}\n`);
} finally {
  await browser.close();
}
