import { useCurrentUser } from '../api/context';
import { usePreferences, useSetPreference } from '../api/notifications';
import { ErrorMessage, Loading } from '../components/Feedback';
import { useTitle } from '../lib/useTitle';
import { formatDate } from '../lib/format';
import { useSignOut } from '../session/useSignOut';

const ROLE_TEXT = {
  requester: 'You can open tickets and follow the replies.',
  agent: 'You work tickets: reply, add internal notes, change status, priority and assignee.',
  admin: 'You work tickets and manage users and their roles.',
} as const;

export function ProfilePage() {
  useTitle('Profile');
  const user = useCurrentUser();
  const signOut = useSignOut();
  return (
    <section className="page narrow" aria-labelledby="profile-title">
      <div className="page-header">
        <h1 id="profile-title" tabIndex={-1}>
          Profile
        </h1>
      </div>
      <div className="card">
        <dl className="facts facts-wide">
          <dt>Name</dt>
          <dd>{user.name}</dd>
          <dt>Email</dt>
          <dd>{user.email}</dd>
          <dt>Role</dt>
          <dd>
            <span className={`role-pill role-${user.role}`}>{user.role}</span> {ROLE_TEXT[user.role] ?? ''}
          </dd>
          <dt>Member since</dt>
          <dd>{formatDate(user.created_at)}</dd>
          <dt>User id</dt>
          <dd className="mono">{user.id}</dd>
        </dl>
        <button type="button" className="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>
      <EmailPreferences />
    </section>
  );
}

/** Each kind of mail the user's role gets, switched on or off (saved at once). */
function EmailPreferences() {
  const prefs = usePreferences();
  const set = useSetPreference();
  return (
    <div className="card" aria-labelledby="email-prefs-title">
      <h2 id="email-prefs-title">Email notifications</h2>
      {prefs.isPending ? (
        <Loading label="Loading preferences…" />
      ) : prefs.error ? (
        <ErrorMessage error={prefs.error} />
      ) : (
        <ul className="plain-list">
          {prefs.data.items.map((p) => (
            <li key={p.kind}>
              <label>
                <input
                  type="checkbox"
                  checked={p.enabled}
                  disabled={set.isPending}
                  onChange={(e) => set.mutate({ kind: p.kind, enabled: e.target.checked })}
                />{' '}
                {p.description}
              </label>
            </li>
          ))}
        </ul>
      )}
      {set.error ? <ErrorMessage error={set.error} /> : null}
    </div>
  );
}
