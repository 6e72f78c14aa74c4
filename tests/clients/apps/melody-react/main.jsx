// A small React app signed in through @melody-auth/react, as an app developer would write it.
// melody-react.mjs bundles it with APP_CONFIG defined and drives it through its buttons; the
// SDK's state is rendered as JSON in #auth and the last action's outcome in #result.
import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider, useAuth } from '@melody-auth/react';

/* global APP_CONFIG */
const config = APP_CONFIG;

function App() {
  const auth = useAuth();
  const [result, setResult] = useState(null);
  // Each action's promise ends in #result, so the driver can wait for it.
  const run = (name, action) => async () => {
    setResult({ name, pending: true });
    try {
      setResult({ name, value: (await action()) ?? null });
    } catch (e) {
      setResult({ name, error: String(e) });
    }
  };
  const state = {
    isAuthenticated: auth.isAuthenticated,
    isAuthenticating: auth.isAuthenticating,
    accessToken: auth.accessToken,
    refreshToken: auth.refreshToken,
    idToken: auth.idToken,
    account: auth.account,
    userInfo: auth.userInfo,
    errors: {
      authentication: auth.authenticationError,
      acquireToken: auth.acquireTokenError,
      acquireUserInfo: auth.acquireUserInfoError,
      login: auth.loginError,
      logout: auth.logoutError,
    },
  };
  return (
    <main>
      <h1>Melody React app</h1>
      <p id="greeting">{auth.isAuthenticated ? `Signed in as ${auth.account?.email}` : 'Signed out'}</p>
      <button id="login" type="button" onClick={() => auth.loginRedirect({ locale: 'en' })}>Sign in</button>
      <button id="login-popup" type="button" onClick={() => auth.loginPopup({ locale: 'en' })}>Sign in (popup)</button>
      <button id="userinfo" type="button" onClick={run('userinfo', auth.acquireUserInfo)}>User info</button>
      <button id="token" type="button" onClick={run('token', auth.acquireToken)}>Access token</button>
      <button
        id="logout"
        type="button"
        onClick={run('logout', () => auth.logoutRedirect({ postLogoutRedirectUri: `${window.location.origin}/signed-out` }))}
      >
        Sign out
      </button>
      <pre id="auth">{JSON.stringify(state)}</pre>
      <pre id="result">{JSON.stringify(result)}</pre>
    </main>
  );
}

createRoot(document.getElementById('root')).render(
  <AuthProvider {...config}>
    <App />
  </AuthProvider>,
);
