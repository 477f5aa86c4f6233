import { may, type Session } from '../../api/session.ts';
import { ApiKeys } from './api-keys.tsx';
import { PreAuthKeys } from './preauth-keys.tsx';

export function KeysPage({ session }: { session: Session }) {
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">Keys</h1>
      <PreAuthKeys canChange={may(session, 'keys')} />
      {may(session, 'admin') && <ApiKeys />}
    </section>
  );
}
