import { useState, type FormEvent } from 'react';
import { useMutation } from '@tanstack/react-query';
import { Link, useLocation, useNavigate, useSearchParams } from 'react-router';
import { useApi, useSession } from '../api/context';
import { unwrap } from '../api/client';
import { ErrorMessage, FieldMessage } from '../components/Feedback';
import { formErrors } from '../api/fieldErrors';
import { useTitle } from '../lib/useTitle';

function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/tickets';
}

export function SignInPage() {
  useTitle('Sign in');
  const { client, session } = useApi();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const location = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const signIn = useMutation({
    mutationFn: async () => unwrap(await client.POST('/api/auth/login', { body: { email, password } })),
    onSuccess: (auth) => {
      session.signedIn(auth);
      navigate(safeNext(params.get('next')), { replace: true });
    },
  });
  const error = signIn.error;
  // Still busy once signed in, until the next page replaces this one.
  const busy = signIn.isPending || signIn.isSuccess;
  const { reason } = useSession();
  const form = formErrors(error, 'signin', ['email', 'password']);
  // A wrong password (401) is about both fields together; a 422 names the one at fault.
  const bothWrong = Boolean(error) && !form.any;
  const control = (field: string) =>
    bothWrong ? { 'aria-invalid': true as const, 'aria-describedby': 'signin-error' } : form.control(field);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate();
  };

  return (
    <div className="auth-page">
      <form className="card auth-card" onSubmit={onSubmit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title" tabIndex={-1}>
          Sign in to Docket
        </h1>
        {reason === 'signed-out' ? (
          <p className="notice" role="status">
            You have signed out.
          </p>
        ) : reason === 'expired' ? (
          <p className="notice notice-warning" role="status">
            Your session has ended. Please sign in again.
          </p>
        ) : null}
        <div className="field">
          <label htmlFor="signin-email">Email</label>
          <input
            id="signin-email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            {...control('email')}
          />
          <FieldMessage form={form} field="email" />
        </div>
        <div className="field">
          <label htmlFor="signin-password">Password</label>
          <input
            id="signin-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            {...control('password')}
          />
          <FieldMessage form={form} field="password" />
        </div>
        <ErrorMessage error={error} id="signin-error" form={form} />
        <button type="submit" className="button primary wide" disabled={busy || !email || !password}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="auth-switch">
          New here? <Link to={`/register${location.search}`}>Create an account</Link>
        </p>
      </form>
    </div>
  );
}
