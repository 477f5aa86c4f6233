import { useState } from 'preact/hooks';

/** A new key's secret: shown this once, with a copy button; the server never shows it again. */
export function SecretOnce({ secret, onDone }: { secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="card secret" role="alert">
      <h3>Copy the secret now</h3>
      <p>This is the only time it is shown. Store it where it will be used; the list never shows it.</p>
      <label>
        Secret
        <input readOnly value={secret} class="mono" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
      </label>
      <button
        type="button"
        onClick={() =>
          void navigator.clipboard?.writeText(secret).then(
            () => setCopied(true),
            () => setCopied(false),
          )
        }
      >
        Copy
      </button>{' '}
      <button type="button" onClick={onDone}>
        I have stored it
      </button>
      {copied && <span role="status"> Copied.</span>}
    </div>
  );
}
