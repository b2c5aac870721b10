// identity.js — owns who the host page says its signed-in visitor is: ChatbotConfig.userToken (a
// JWT the site's backend signs with the widget's identity secret) or userId + userHash (Intercom's
// form). The widget cannot check either (the secret stays on the site's server): it forwards the
// credential on every call, and reads the token's unverified `sub` and `name` only to know whose
// conversation this browser keeps and whether the pre-chat form can be skipped.

function claimsOf(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(
      Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    );
    const claims = JSON.parse(json);
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

/** The page's user credential, or null for an anonymous visitor. */
export function readIdentity(options) {
  const token = typeof options.userToken === 'string' ? options.userToken.trim() : '';
  if (token) {
    const claims = claimsOf(token);
    if (claims?.sub == null) {
      console.error('[chatbot] ChatbotConfig.userToken is not a JWT with a sub claim; it is sent anyway and the server will refuse it.');
    }
    return {
      key: 'user:' + String(claims?.sub ?? token),
      name: typeof claims?.name === 'string' && claims.name.trim() ? claims.name.trim() : null,
      headers: { 'X-User-Token': token },
      body: { user_token: token },
    };
  }
  const id = options.userId == null ? '' : String(options.userId).trim();
  const hash = typeof options.userHash === 'string' ? options.userHash.trim() : '';
  if (id && hash) {
    return { key: 'user:' + id, name: null, headers: { 'X-User-Id': id, 'X-User-Hash': hash }, body: { user_id: id, user_hash: hash } };
  }
  if (id || hash) console.error('[chatbot] ChatbotConfig.userId and userHash go together; the visitor is treated as anonymous.');
  return null;
}
