/**
 * Admin: everyone with an account, their role, and whether they may sign in.
 */
import { useId, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useApi, useCurrentUser } from '../api/context';
import { unwrap } from '../api/client';
import { keys, useUsers } from '../api/queries';
import type { Role, User, UserPatch } from '../api/schema';
import { EmptyState, ErrorMessage, Loading } from '../components/Feedback';
import { useTitle } from '../lib/useTitle';
import { formatDate } from '../lib/format';

const ROLES: Role[] = ['requester', 'agent', 'admin'];
const ROLE_LABELS: Record<Role, string> = { requester: 'Requester', agent: 'Agent', admin: 'Admin' };

export function AdminUsersPage() {
  useTitle('Users');
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [role, setRole] = useState<Role | ''>('');
  const users = useUsers({ ...(search ? { q: search } : {}), ...(role ? { role } : {}) });
  const searchId = useId();
  const roleId = useId();
  const onSearch = (event: FormEvent) => {
    event.preventDefault();
    setSearch(q.trim());
  };
  const list = users.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="page" aria-labelledby="users-title">
      <div className="page-header">
        <h1 id="users-title" tabIndex={-1}>
          Users
        </h1>
      </div>
      <p className="muted">
        Change what people can do. Agents work tickets; admins also manage users. Deactivated people cannot sign in.
      </p>
      <div className="filters" role="search" aria-label="Find users">
        <form className="searchbox" onSubmit={onSearch}>
          <label htmlFor={searchId} className="visually-hidden">
            Search users
          </label>
          <input id={searchId} type="search" placeholder="Name or email" value={q} onChange={(e) => {
            setQ(e.target.value);
            if (e.target.value === '') setSearch('');
          }} />
          <button type="submit" className="button">
            Search
          </button>
        </form>
        <div className="filter">
          <label htmlFor={roleId}>Role</label>
          <select id={roleId} value={role} onChange={(e) => setRole(e.target.value as Role | '')}>
            <option value="">Any role</option>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
        </div>
      </div>
      {users.isPending ? (
        <Loading label="Loading users…" />
      ) : users.error ? (
        <ErrorMessage error={users.error} />
      ) : list.length === 0 ? (
        <EmptyState title={search || role ? 'No users match.' : 'No users yet.'} />
      ) : (
        <div className="table-wrap">
          <table className="users">
            <caption className="visually-hidden">Users</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Joined</th>
              </tr>
            </thead>
            <tbody>
              {list.map((u) => (
                <UserRow key={u.id} user={u} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {users.hasNextPage ? (
        <div className="pager">
          <button type="button" className="button" onClick={() => void users.fetchNextPage()} disabled={users.isFetchingNextPage}>
            {users.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </div>
      ) : null}
    </section>
  );
}

function UserRow({ user }: { user: User }) {
  const { client, session } = useApi();
  const me = useCurrentUser();
  const queryClient = useQueryClient();
  const [pendingRole, setPendingRole] = useState<Role | null>(null);
  const update = useMutation({
    mutationFn: async (patch: UserPatch) =>
      unwrap(await client.PATCH('/api/users/{id}', { params: { path: { id: user.id } }, body: patch })),
    onSuccess: (updated) => {
      if (updated.id === me.id) session.updateUser(updated);
      void queryClient.invalidateQueries({ queryKey: keys.users });
    },
    onSettled: () => setPendingRole(null),
  });
  const isMe = user.id === me.id;
  const selectId = `role-${user.id}`;
  return (
    <>
      <tr className={user.active ? '' : 'row-inactive'}>
        <td data-label="Name">
          {user.name}
          {isMe ? <span className="muted"> (you)</span> : null}
        </td>
        <td data-label="Email" className="break">
          {user.email}
        </td>
        <td data-label="Role">
          <label htmlFor={selectId} className="visually-hidden">
            Role for {user.name}
          </label>
          <select
            id={selectId}
            value={pendingRole ?? user.role}
            disabled={update.isPending}
            onChange={(e) => {
              const role = e.target.value as Role;
              setPendingRole(role);
              update.mutate({ role });
            }}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {ROLE_LABELS[r]}
              </option>
            ))}
          </select>
        </td>
        <td data-label="Status">
          <div className="status-cell">
            <span className={`badge ${user.active ? 'status-resolved' : 'status-closed'}`}>{user.active ? 'Active' : 'Deactivated'}</span>
            <button
              type="button"
              className={`button small ${user.active ? 'ghost danger-text' : ''}`}
              disabled={update.isPending || (isMe && user.active)}
              title={isMe && user.active ? 'You cannot deactivate yourself' : undefined}
              onClick={() => update.mutate({ active: !user.active })}
              aria-label={`${user.active ? 'Deactivate' : 'Reactivate'} ${user.name}`}
            >
              {user.active ? 'Deactivate' : 'Reactivate'}
            </button>
          </div>
        </td>
        <td data-label="Joined">{formatDate(user.created_at)}</td>
      </tr>
      {update.error ? (
        <tr className="row-error">
          <td colSpan={5}>
            <ErrorMessage error={update.error} />
          </td>
        </tr>
      ) : null}
    </>
  );
}
