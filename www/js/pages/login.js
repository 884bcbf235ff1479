// The sign-in form: POST /login, then back to the page asked for.
import { post, get } from '../api.js';
import { signedIn } from '../app.js';
import { h, field, errorText } from '../ui.js';

export async function render(ctx) {
  document.title = 'Sign in · tablecron';
  const login = h('input', { name: 'login', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'login card', novalidate: true },
    h('h1', {}, 'Sign in to tablecron'),
    field('Login', login), field('Password', password), err,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.hidden = true;
    if (!login.value || !password.value) {
      err.textContent = 'Enter your login and password.';
      err.hidden = false;
      return;
    }
    submit.disabled = true;
    try {
      const r = await post('/login', { login: login.value, password: password.value });
      signedIn({ ...r.user, csrf_token: r.csrf_token, departments: [] });
      signedIn(await get('/me'));
      ctx.afterLogin();
    } catch (e2) {
      err.textContent = e2.status === 401 ? 'Wrong login or password.' : errorText(e2);
      err.hidden = false;
      password.select();
    } finally {
      submit.disabled = false;
    }
  });
  ctx.main.append(form);
  login.focus();
}
