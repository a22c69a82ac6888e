import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { QueryClientProvider } from '@tanstack/react-query';
import { createApi } from './api/client';
import { ApiProvider } from './api/ApiProvider';
import { AppRoutes } from './App';
import { API_BASE_URL } from './config';
import { createQueryClient } from './queryClient';
import './styles.css';

const api = createApi(API_BASE_URL);
const queryClient = createQueryClient();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiProvider api={api}>
      <QueryClientProvider client={queryClient}>
        <BrowserRouter>
          <AppRoutes />
        </BrowserRouter>
      </QueryClientProvider>
    </ApiProvider>
  </StrictMode>,
);
