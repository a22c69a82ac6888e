import { useCurrentUser } from '../api/context';
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
    </section>
  );
}
