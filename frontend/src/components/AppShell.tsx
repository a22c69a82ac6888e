/**
 * The page frame: skip link, header with navigation and the account menu, and the main
 * region. After each in-app navigation focus moves to the new page's heading, so screen
 * reader and keyboard users start at the top of what changed.
 */
import { useEffect, useRef } from 'react';
import { NavLink, Outlet, useLocation, Link } from 'react-router';
import { useSession } from '../api/context';
import { UserMenu } from './UserMenu';

export function AppShell() {
  const { user } = useSession();
  const location = useLocation();
  const first = useRef(true);

  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    // The new page's heading, or the main region while the page is still loading.
    const heading = document.querySelector<HTMLElement>('main h1') ?? document.querySelector<HTMLElement>('main');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: false });
    }
  }, [location.pathname]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to={user ? '/tickets' : '/signin'} className="brand" aria-label="Docket home">
            <svg viewBox="0 0 32 32" width="26" height="26" aria-hidden="true">
              <rect width="32" height="32" rx="7" fill="currentColor" />
              <path d="M9 8h8a8 8 0 0 1 0 16H9z" fill="none" stroke="#fff" strokeWidth="3" />
            </svg>
            <span>Docket</span>
          </Link>
          {user ? (
            <>
              <nav aria-label="Main" className="mainnav">
                <NavLink to="/tickets" end>
                  Tickets
                </NavLink>
                <NavLink to="/tickets/new">New ticket</NavLink>
                {user.role === 'admin' ? <NavLink to="/admin/users">Users</NavLink> : null}
              </nav>
              <UserMenu />
            </>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1} className="content">
        <Outlet />
      </main>
    </div>
  );
}
