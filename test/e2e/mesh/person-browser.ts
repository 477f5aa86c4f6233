import { FormUser } from '../../support/form-user.ts';

/**
 * A person's browser in a lab namespace, plain HTTP (FormUser): opens the sign-in URL that
 * `trellis up --login` printed, continues to the provider, signs in there as LOGIN, and follows
 * the provider back to the server's callback. argv: URL LOGIN CALLBACK_URL. Prints `signed in`.
 */
const [url, login, callback] = process.argv.slice(2);
const person = new FormUser();
const page = await person.get(url!);
if (page.status !== 200) throw new Error(`the sign-in page answered ${page.status}`);
const authorize = (await person.get(`${url}/continue`)).headers.get('location');
if (!authorize) throw new Error('the sign-in page did not continue to the provider');
const back = await person.signInAtProvider(authorize, login!, callback!);
const done = await person.get(back.href);
if (done.status !== 200) throw new Error(`the server's callback answered ${done.status}: ${await done.text()}`);
process.stdout.write('signed in\n');
