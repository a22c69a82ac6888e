import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { useApi } from '../api/context';
import { unwrap } from '../api/client';
import { formErrors } from '../api/fieldErrors';
import { lengthHint, lengthProblem, lengthProps, limitsOf } from '../api/limits';
import { ErrorMessage, FieldMessage } from '../components/Feedback';
import { useTitle } from '../lib/useTitle';

// From the auth document (POST /api/auth/register); see src/api/limits.ts.
const NAME = limitsOf('POST /api/auth/register', 'name');
const EMAIL = limitsOf('POST /api/auth/register', 'email');
const PASSWORD = limitsOf('POST /api/auth/register', 'password');

export function RegisterPage() {
  useTitle('Create an account');
  const { client, session } = useApi();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const register = useMutation({
    mutationFn: async () =>
      unwrap(await client.POST('/api/auth/register', { body: { name: name.trim(), email, password } })),
    onSuccess: (auth) => {
      session.signedIn(auth);
      navigate('/tickets', { replace: true });
    },
  });
  const error = register.error;
  // Still busy once registered, until the next page replaces this one.
  const busy = register.isPending || register.isSuccess;
  const passwordProblem = lengthProblem(password, PASSWORD);
  const passwordHint = lengthHint(PASSWORD);
  const form = formErrors(error, 'register', ['name', 'email', 'password'], {
    name: lengthProblem(name.trim(), NAME),
    password: passwordProblem,
  });

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (passwordProblem) return;
    register.mutate();
  };

  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={onSubmit} aria-labelledby="register-title" noValidate>
        <h1 id="register-title" tabIndex={-1}>
          Create your account
        </h1>
        <p className="muted">Open tickets, attach files and follow every answer in one place.</p>
        <div className="field">
          <label htmlFor="register-name">Name</label>
          <input
            id="register-name"
            autoComplete="name"
            required
            maxLength={NAME.maxLength}
            value={name}
            onChange={(e) => setName(e.target.value)}
            {...form.control('name')}
          />
          <FieldMessage form={form} field="name" />
        </div>
        <div className="field">
          <label htmlFor="register-email">Email</label>
          <input
            id="register-email"
            type="email"
            autoComplete="email"
            required
            maxLength={EMAIL.maxLength}
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            {...form.control('email')}
          />
          <FieldMessage form={form} field="email" />
        </div>
        <div className="field">
          <label htmlFor="register-password">Password</label>
          <input
            id="register-password"
            type="password"
            autoComplete="new-password"
            required
            {...lengthProps(PASSWORD)}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            {...form.control('password', passwordHint ? 'register-password-hint' : undefined)}
          />
          <FieldMessage form={form} field="password" />
          {passwordHint ? (
            <p id="register-password-hint" className="hint">
              {passwordHint}
            </p>
          ) : null}
        </div>
        <ErrorMessage error={error} form={form} />
        <button type="submit" className="button primary wide" disabled={busy || !name.trim() || !email || Boolean(passwordProblem) || !password}>
          {busy ? 'Creating account…' : 'Create account'}
        </button>
        <p className="auth-switch">
          Already have an account? <Link to="/signin">Sign in</Link>
        </p>
      </form>
    </div>
  );
}
