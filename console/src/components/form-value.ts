/** What a form control holds, from its input or change event. */
export const value = (e: Event) => (e.currentTarget as HTMLInputElement).value;
export const checked = (e: Event) => (e.currentTarget as HTMLInputElement).checked;
