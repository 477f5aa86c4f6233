/**
 * A person signing in without a real browser: plain HTTP with a cookie jar per origin, filling
 * the provider's login and consent forms. Each step is explicit so tests can tamper between them.
 */
export class FormUser {
  private readonly jar = new Map<string, Map<string, string>>();

  async get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' });
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    return this.send(url, {
      method: 'POST',
      body: new URLSearchParams(form),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  /**
   * From a URL at the provider (an authorization request), follows redirects and fills the
   * login (as `login`) and consent forms until the provider redirects to `stopAt`; returns
   * that URL, unvisited. With `stopAt` empty, goes on until a page without a form (the
   * provider's own "done" page, as in the device flow) and returns its URL.
   */
  async signInAtProvider(start: string, login: string, stopAt: string): Promise<URL> {
    let url = start;
    let res = await this.get(url);
    for (let step = 0; step < 30; step++) {
      const location = res.headers.get('location');
      if (location) {
        const next = new URL(location, url);
        if (stopAt && next.href.startsWith(stopAt)) return next;
        url = next.href;
        res = await this.get(url);
        continue;
      }
      const html = await res.text();
      const formHtml = /<form[\s\S]*?<\/form>/.exec(html)?.[0];
      const action = formHtml && /<form[^>]*action="([^"]+)"/.exec(formHtml)?.[1];
      if (res.status === 200 && !formHtml && stopAt === '') return new URL(url);
      if (res.status !== 200 || !formHtml || !action)
        throw new Error(`unexpected page at ${url} (${res.status}): ${html.slice(0, 300)}`);
      const form: Record<string, string> = {};
      for (const m of formHtml.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g))
        form[m[1]!] = m[2]!;
      if (formHtml.includes('name="login"')) Object.assign(form, { login, password: 'any' });
      url = new URL(action, url).href;
      res = await this.post(url, form);
    }
    throw new Error('sign-in did not finish in 30 steps');
  }

  /** Any request, with this person's cookies for the URL's origin; the answer's cookies are kept. */
  async send(url: string, init: RequestInit): Promise<Response> {
    const origin = new URL(url).origin;
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    this.jar.set(origin, cookies);
    const cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...(init.headers as Record<string, string>), ...(cookie && { cookie }) },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const gone = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
      if (gone) cookies.delete(name);
      else cookies.set(name, value);
    }
    return res;
  }
}
