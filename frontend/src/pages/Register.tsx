import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useApi } from '../api/context';
import { unwrap } from '../api/client';
import { ErrorMessage } from '../components/Feedback';
import { useTitle } from '../lib/useTitle';

const MIN_PASSWORD = 8;

export function RegisterPage() {
  useTitle('Create an account');
  const { client, session } = useApi();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const tooShort = password.length > 0 && password.length < MIN_PASSWORD;

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    if (tooShort) return;
    setBusy(true);
    setError(null);
    try {
      const auth = unwrap(await client.POST('/api/auth/register', { body: { name: name.trim(), email, password } }));
      session.signedIn(auth);
      navigate('/tickets', { replace: true });
    } catch (err) {
      setError(err);
      setBusy(false);
    }
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
          <input id="register-name" autoComplete="name" required value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="register-email">Email</label>
          <input
            id="register-email"
            type="email"
            autoComplete="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="register-password">Password</label>
          <input
            id="register-password"
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_PASSWORD}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={tooShort || undefined}
            aria-describedby="register-password-hint"
          />
          <p id="register-password-hint" className={tooShort ? 'hint hint-error' : 'hint'}>
            At least {MIN_PASSWORD} characters.
          </p>
        </div>
        <ErrorMessage error={error} />
        <button type="submit" className="button primary wide" disabled={busy || !name.trim() || !email || tooShort || !password}>
          {busy ? 'Creating account…' : 'Create account'}
        </button>
        <p className="auth-switch">
          Already have an account? <Link to="/signin">Sign in</Link>
        </p>
      </form>
    </div>
  );
}
