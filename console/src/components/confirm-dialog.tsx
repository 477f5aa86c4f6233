import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Question {
  title: string;
  body: ComponentChildren;
  /** The button that goes ahead, named for what it does ("Revoke", "Delete machine"). */
  confirm: string;
  danger?: boolean;
}

interface Asked extends Question {
  answer: (yes: boolean) => void;
}

/**
 * Asking before a change that cannot be undone, in a modal `<dialog>`: the browser keeps focus
 * inside it and closes it on Escape; focus starts on Cancel (the safe choice) and goes back to
 * the control that opened it. Returns the dialog to render and `ask`, which resolves to the answer.
 */
export function useConfirm(): [ComponentChildren, (q: Question) => Promise<boolean>] {
  const [asked, setAsked] = useState<Asked>();
  const ask = useCallback((q: Question) => new Promise<boolean>((resolve) => setAsked({ ...q, answer: resolve })), []);
  const dialog = asked ? (
    <ConfirmDialog
      question={asked}
      onAnswer={(yes) => {
        setAsked(undefined);
        asked.answer(yes);
      }}
    />
  ) : null;
  return [dialog, ask];
}

function ConfirmDialog({ question, onAnswer }: { question: Question; onAnswer: (yes: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    ref.current?.showModal();
    cancel.current?.focus();
    return () => {
      // Closed first: while it is modal the rest of the page is inert and cannot take focus.
      ref.current?.close();
      // The opener may be gone (a revoked key's button): then the page itself takes focus.
      (opener?.isConnected ? opener : document.getElementById('main'))?.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class="confirm"
      aria-labelledby="confirm-title"
      aria-describedby="confirm-body"
      onCancel={(e) => {
        e.preventDefault();
        onAnswer(false);
      }}
    >
      <h2 id="confirm-title">{question.title}</h2>
      <div id="confirm-body">{question.body}</div>
      <div class="buttons">
        <button type="button" ref={cancel} onClick={() => onAnswer(false)}>
          Cancel
        </button>{' '}
        <button type="button" class={question.danger ? 'danger' : 'primary'} onClick={() => onAnswer(true)}>
          {question.confirm}
        </button>
      </div>
    </dialog>
  );
}
