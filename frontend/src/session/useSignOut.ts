import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { useApi } from '../api/context';

/** Revokes the refresh token on the server, forgets the access token and cached data. */
export function useSignOut() {
  const { client, session } = useApi();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return async () => {
    try {
      await client.POST('/api/auth/logout', {});
    } catch {
      // Offline: the token is forgotten here regardless, and the cookie expires on its own.
    }
    session.signedOut('signed-out');
    queryClient.clear();
    navigate('/signin', { replace: true });
  };
}
