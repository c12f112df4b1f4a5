// A real OpenID Connect provider (the certified `oidc-provider` package) for Wharf's tests.
//
//   node provider.mjs CONFIG.json
//
// CONFIG.json (written by sso/tests/oidc_provider.py):
//   issuer, port       where it listens (loopback only) and the `iss` it signs
//   jwks               its private signing keys ({"keys": [...]}); restart with new keys to rotate
//   clients            registered clients (oidc-provider client metadata)
//   api_audience       the resource indicator (`aud`) of JWT access tokens for Wharf's API
//   control            a JSON file read at every request, so a test can change the world without
//                      a restart:
//                        accounts: {login: {password, sub, claims: {...}}}    people who sign in
//                        services: {client_id: {claims: {...}}}               claims of
//                                  client-credentials access tokens (CI pipelines)
//                        tamper_id_token: {set: {...}, unset: [...], sign_with: "provider"|"stranger"}
//                                  rewrites the ID token of the next token responses; this is how
//                                  tests present expired, forged or misaddressed tokens, which a
//                                  correct provider never issues.
//
// Login and consent are this provider's own pages (no development shortcuts): a login form that
// checks the password, then a consent page. Redirect URIs on loopback or `testserver` are accepted
// on any port, because test servers get a free port each run.

import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));

function control() {
  try {
    return JSON.parse(readFileSync(config.control, 'utf8'));
  } catch {
    return {};
  }
}

function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  }[c]));
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title></head>
<body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

async function readForm(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return new URLSearchParams(data);
}

function accountByLogin(login) {
  const accounts = control().accounts || {};
  return Object.hasOwn(accounts, login) ? accounts[login] : undefined;
}

function accountBySub(sub) {
  const accounts = control().accounts || {};
  return Object.values(accounts).find((account) => account.sub === sub);
}

const TEST_REDIRECT_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', 'testserver']);

function testRedirectAllowed(registered, value) {
  // Registered URIs are compared without the port (test servers use a free port each run).
  let candidate;
  try {
    candidate = new URL(value);
  } catch {
    return false;
  }
  if (!TEST_REDIRECT_HOSTS.has(candidate.hostname)) return false;
  return registered.some((uri) => {
    const allowed = new URL(uri);
    return allowed.protocol === candidate.protocol && allowed.pathname === candidate.pathname
      && TEST_REDIRECT_HOSTS.has(allowed.hostname) && candidate.search === '';
  });
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: config.jwks,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'offline_access', 'api'],
  async findAccount(ctx, sub) {
    const account = accountBySub(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        // Read again at every call: a test that removes a group sees it gone at the next sign-in.
        const current = accountBySub(sub) || account;
        return { sub, ...(current.claims || {}) };
      },
    };
  },
  interactions: {
    url(ctx, interaction) {
      return `/interaction/${interaction.uid}`;
    },
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Sign out', `<p>Do you want to sign out of the test provider?</p>${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Signed out', '<p>You are signed out of the test provider.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource(ctx, client) {
        // Only the CI client gets JWT access tokens for Wharf's API by default; the sign-in
        // client's access token stays good for the userinfo endpoint.
        return client && client.clientId.startsWith('ci-') ? config.api_audience : undefined;
      },
      useGrantedResource() {
        return false;
      },
      getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator !== config.api_audience) throw new errors.InvalidTarget();
        return {
          scope: 'api',
          audience: config.api_audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
        };
      },
    },
  },
  async extraTokenClaims(ctx, token) {
    if (token.kind !== 'ClientCredentials') return undefined;
    const service = (control().services || {})[token.clientId];
    return service ? service.claims : undefined;
  },
  pkce: { required: () => true },
  renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Error', `<p>${escapeHtml(out.error)}: ${escapeHtml(out.error_description || '')}</p>`);
  },
  ttl: {
    AccessToken: 300,
    AuthorizationCode: 60,
    ClientCredentials: 300,
    Grant: 3600,
    IdToken: 300,
    Interaction: 600,
    Session: 3600,
  },
});
provider.proxy = false;

// Test servers get a free port each run; registered loopback redirect URIs match any port.
const { redirectUriAllowed, postLogoutRedirectUriAllowed } = provider.Client.prototype;
provider.Client.prototype.redirectUriAllowed = function allowed(value) {
  return redirectUriAllowed.call(this, value) || testRedirectAllowed(this.redirectUris, value);
};
provider.Client.prototype.postLogoutRedirectUriAllowed = function allowed(value) {
  return postLogoutRedirectUriAllowed.call(this, value)
    || testRedirectAllowed(this.postLogoutRedirectUris || [], value);
};

const signingKey = config.jwks.keys[0];
const strangerKey = (await jose.generateKeyPair('RS256', { extractable: true })).privateKey;

async function tamper(idToken, rule) {
  const payload = jose.decodeJwt(idToken);
  const header = jose.decodeProtectedHeader(idToken);
  Object.assign(payload, rule.set || {});
  for (const claim of rule.unset || []) delete payload[claim];
  const key = rule.sign_with === 'stranger' ? strangerKey : await jose.importJWK(signingKey, header.alg);
  // A forged token keeps the real key's id: the signature, not the header, must give it away.
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: header.alg, kid: header.kid, typ: header.typ })
    .sign(key);
}

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)(\/(login|confirm|abort))?$/);
  if (!match) {
    await next();
    const rule = control().tamper_id_token;
    if (ctx.path === '/token' && rule && ctx.body && ctx.body.id_token) {
      ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, rule) };
    }
    return;
  }
  ctx.set('Cache-Control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { uid, prompt, params } = details;
  const action = match[3];

  if (action === 'abort') {
    ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied', error_description: 'The person refused the sign-in.',
    }, { mergeWithLastSubmission: false }));
    return;
  }

  if (prompt.name === 'login') {
    let error = '';
    if (ctx.method === 'POST' && action === 'login') {
      const form = await readForm(ctx.req);
      const account = accountByLogin(form.get('login') || '');
      const given = createHash('sha256').update(form.get('password') || '').digest();
      const expected = createHash('sha256').update(account ? account.password : '\0').digest();
      if (account && given.equals(expected)) {
        ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, {
          login: { accountId: account.sub },
        }, { mergeWithLastSubmission: false }));
        return;
      }
      error = '<p role="alert">Wrong username or password.</p>';
    }
    ctx.type = 'html';
    ctx.body = page('Sign in to the test provider', `${error}
<form method="post" action="/interaction/${uid}/login" autocomplete="off">
  <label for="login">Username</label> <input id="login" name="login" required autofocus>
  <label for="password">Password</label> <input id="password" name="password" type="password" required>
  <button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${uid}/abort">Cancel</a></p>`);
    return;
  }

  if (prompt.name === 'consent') {
    if (ctx.method === 'POST' && action === 'confirm') {
      await readForm(ctx.req);
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
      if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
      if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(prompt.details.missingResourceScopes || {})) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
      ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, {
        consent: { grantId: await grant.save() },
      }, { mergeWithLastSubmission: true }));
      return;
    }
    const client = await provider.Client.find(params.client_id);
    ctx.type = 'html';
    ctx.body = page(`Authorize ${client.clientName || client.clientId}`, `
<p>${escapeHtml(client.clientName || client.clientId)} asks for: ${escapeHtml(params.scope || '')}</p>
<form method="post" action="/interaction/${uid}/confirm"><button type="submit">Allow</button></form>
<p><a href="/interaction/${uid}/abort">Deny</a></p>`);
    return;
  }
  ctx.throw(501, `prompt ${prompt.name} is not implemented`);
});

// Refusals go to provider.log (in the fixture's temporary directory), for whoever debugs a test.
for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error',
  'server_error']) {
  provider.on(event, (ctx, error) => {
    process.stdout.write(`${event}: ${error.message} ${error.error_description || ''} ${error.cause || ''}\n`);
  });
}

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`oidc-provider listening on ${config.issuer}\n`);
});
