import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ErrorMessage } from './Feedback';
import { ApiError, apiError, describeError, errorFromResponse, parseRetryAfter, uploadLimit } from '../api/problem';
import { SignInPage } from '../pages/SignIn';
import { createApi } from '../api/client';
import { describeUploadError } from '../api/uploadPolicy';
import { BASE, fakeFetch, json, problem, renderWithApp, uploadPolicy } from '../test/utils';

describe('describeError', () => {
  it('uses the problem detail for ordinary failures', () => {
    expect(describeError(apiError(422, problem(422, 'Subject must be 1 to 200 characters.')))).toBe(
      'Subject must be 1 to 200 characters.',
    );
  });

  it('falls back to the title, then to the status', () => {
    expect(describeError(new ApiError(409, { title: 'Conflict' }))).toBe('Conflict');
    expect(describeError(new ApiError(400, null))).toBe('Request failed (400).');
    expect(describeError(new ApiError(502, null))).toBe('The server had a problem. Please try again.');
  });

  it('names the size limit on 413 when the detail says one', () => {
    expect(describeError(apiError(413, problem(413, 'a.pdf is larger than 10485760 bytes')))).toBe(
      'File too large (limit 10 MiB per file).',
    );
    expect(describeError(apiError(413, problem(413, 'too big')))).toBe('File too large.');
    expect(uploadLimit('maximum is 5 MiB')).toBe('5 MiB');
    expect(uploadLimit('payload exceeds 20971520 bytes')).toBe('20 MiB');
    expect(uploadLimit('too big')).toBeNull();
  });

  it('lists the allowed types and the limit on 415 and 413 from the upload policy', () => {
    expect(describeError(apiError(415, problem(415, 'nope')))).toBe('This file type is not allowed.');
    const policy = uploadPolicy({ max_file_bytes: 2 * 1024 * 1024, types: uploadPolicy().types.slice(0, 2) });
    expect(describeUploadError(apiError(415, problem(415, 'nope')), policy)).toBe(
      'This file type is not allowed. Allowed types: JPEG, PNG.',
    );
    expect(describeUploadError(apiError(413, problem(413, 'too big')), policy)).toBe('File too large (limit 2 MiB per file).');
    // Anything else, and anything before the policy is known, as describeError says it.
    expect(describeUploadError(apiError(415, problem(415, 'nope')), undefined)).toBe('This file type is not allowed.');
    expect(describeUploadError(apiError(429, problem(429, 'x')), policy)).toMatch(/^Too many requests/);
  });

  it('says when to retry on 429, from Retry-After seconds or date', () => {
    const headers = new Headers({ 'Retry-After': '30' });
    expect(describeError(apiError(429, problem(429, 'x'), headers))).toBe('Too many requests. Please try again in 30 seconds.');
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:18:00 GMT'))).toBe(600);
    expect(describeError(apiError(429, problem(429, 'x')))).toBe('Too many requests. Please try again in a few minutes.');
  });

  it('reads problem+json (and plain text) from a raw Response', async () => {
    const fromJson = await errorFromResponse(json(404, problem(404, 'Ticket not found.')));
    expect(fromJson.status).toBe(404);
    expect(fromJson.problem?.detail).toBe('Ticket not found.');
    const fromText = await errorFromResponse(new Response('Bad gateway', { status: 502 }));
    expect(describeError(fromText)).toBe('Bad gateway');
  });

  it('explains a network failure', () => {
    expect(describeError(new TypeError('Failed to fetch'))).toMatch(/Cannot reach Docket/);
  });
});

describe('<ErrorMessage>', () => {
  it('renders the detail as an alert with the request id for support', () => {
    render(<ErrorMessage error={apiError(403, problem(403, 'Only agents may post internal notes.'))} />);
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('Only agents may post internal notes.');
    expect(alert).toHaveTextContent('Reference: req-123');
  });

  it('renders nothing without an error', () => {
    const { container } = render(<ErrorMessage error={null} />);
    expect(container).toBeEmptyDOMElement();
  });
});

describe('sign-in errors', () => {
  it('shows the server detail next to the form and ties it to the fields', async () => {
    const server = fakeFetch({
      'POST /api/auth/refresh': () => json(401, problem(401, 'no session')),
      'POST /api/auth/login': () => json(401, problem(401, 'Invalid email or password.')),
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedOut();
    const person = userEvent.setup();
    renderWithApp(<SignInPage />, { api, route: '/signin', path: '/signin' });

    await person.type(screen.getByLabelText('Email'), 'ada@example.com');
    await person.type(screen.getByLabelText('Password'), 'wrong-password');
    await person.click(screen.getByRole('button', { name: 'Sign in' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Invalid email or password.');
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-describedby', alert.id);
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
  });

  it('says when to retry after too many attempts', async () => {
    const server = fakeFetch({
      'POST /api/auth/login': () => json(429, problem(429, 'Too many attempts'), { 'Retry-After': '900' }),
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedOut();
    const person = userEvent.setup();
    renderWithApp(<SignInPage />, { api, route: '/signin', path: '/signin' });
    await person.type(screen.getByLabelText('Email'), 'ada@example.com');
    await person.type(screen.getByLabelText('Password'), 'right-password');
    await person.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many requests. Please try again in 15 minutes.');
  });
});
