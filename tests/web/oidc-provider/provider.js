// panva's oidc-provider (a certified OpenID provider) at its defaults, for
// tests/web/test_oidc_conformant.py. Added to the defaults only what a provider needs to know
// of kaigi: the client (public: no secret, token endpoint auth `none`), the `profile` scope's
// claims, PKCE required for every client, and accounts. The default development
// interactions sign in any login with any password; the account's `preferred_username`
// is its login, and it is given (as the defaults do) only through UserInfo.
import { Provider } from 'oidc-provider';

const { PORT, REDIRECT_URI, POST_LOGOUT_URI, CLIENT_ID } = process.env;
const issuer = `http://127.0.0.1:${PORT}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: CLIENT_ID,
    token_endpoint_auth_method: 'none',
    redirect_uris: [REDIRECT_URI],
    post_logout_redirect_uris: [POST_LOGOUT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'] },
  pkce: { required: () => true },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, name: id };
      },
    };
  },
});

provider.on('server_error', (ctx, err) => { process.stderr.write(`server_error: ${err.stack}\n`); });

provider.listen(Number(PORT), '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
