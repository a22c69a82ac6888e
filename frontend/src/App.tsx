/**
 * Routes. Everything but sign-in and register needs a session; the users page needs an admin.
 */
import { Navigate, Route, Routes } from 'react-router';
import { AppShell } from './components/AppShell';
import { RedirectIfSignedIn, RequireAuth, RequireRole } from './components/Guards';
import { AdminUsersPage } from './pages/AdminUsers';
import { NewTicketPage } from './pages/NewTicket';
import { NotFoundPage } from './pages/NotFound';
import { ProfilePage } from './pages/Profile';
import { RegisterPage } from './pages/Register';
import { SignInPage } from './pages/SignIn';
import { TicketDetailPage } from './pages/TicketDetail';
import { TicketListPage } from './pages/TicketList';

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<AppShell />}>
        <Route path="/" element={<Navigate to="/tickets" replace />} />
        <Route path="/signin" element={<RedirectIfSignedIn><SignInPage /></RedirectIfSignedIn>} />
        <Route path="/register" element={<RedirectIfSignedIn><RegisterPage /></RedirectIfSignedIn>} />
        <Route path="/tickets" element={<RequireAuth><TicketListPage /></RequireAuth>} />
        <Route path="/tickets/new" element={<RequireAuth><NewTicketPage /></RequireAuth>} />
        <Route path="/tickets/:id" element={<RequireAuth><TicketDetailPage /></RequireAuth>} />
        <Route path="/profile" element={<RequireAuth><ProfilePage /></RequireAuth>} />
        <Route
          path="/admin/users"
          element={<RequireAuth><RequireRole roles={['admin']}><AdminUsersPage /></RequireRole></RequireAuth>}
        />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
