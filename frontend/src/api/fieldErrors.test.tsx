import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { apiError } from './problem';
import { fieldErrorsOf, formErrors } from './fieldErrors';
import { lengthHint, lengthProblem, limitsOf } from './limits';
import { requestLimits } from './generated/limits';
import { createApi } from './client';
import { RegisterPage } from '../pages/Register';
import { NewTicketPage } from '../pages/NewTicket';
import { TicketDetailPage } from '../pages/TicketDetail';
import { BASE, fakeFetch, json, problem, renderWithApp, signedInApi, user } from '../test/utils';

const invalid = (errors: { field: string; message: string }[]) =>
  json(422, problem(422, 'Some fields are not valid.', { errors }));

/** The control's own error is the first thing its aria-describedby points at. */
function expectFieldError(control: HTMLElement, message: string) {
  expect(control).toHaveAttribute('aria-invalid', 'true');
  const ids = (control.getAttribute('aria-describedby') ?? '').split(' ');
  expect(document.getElementById(ids[0]!)).toHaveTextContent(message);
}

describe('field errors of a 422', () => {
  it('reads errors: [{field, message}] only from a 422, whatever the field is prefixed with', () => {
    const error = apiError(
      422,
      problem(422, 'x', {
        errors: [
          { field: 'subject', message: 'Too long.' },
          { field: '/description', message: 'Too long too.' },
          { field: 'body.priority', message: 'Unknown.' },
          { field: 'nope' },
        ],
      }),
    );
    expect(fieldErrorsOf(error)).toHaveLength(3);
    expect(fieldErrorsOf(apiError(400, problem(400, 'x', { errors: [{ field: 'a', message: 'b' }] })))).toEqual([]);
    const form = formErrors(error, 'f', ['subject', 'description']);
    expect(form.message('subject')).toBe('Too long.');
    expect(form.message('description')).toBe('Too long too.');
    expect(form.others).toEqual([{ field: 'body.priority', message: 'Unknown.' }]);
    expect(form.control('subject', 'hint')).toEqual({ 'aria-invalid': true, 'aria-describedby': 'f-subject-error hint' });
    expect(form.control('priority', 'hint')).toEqual({ 'aria-describedby': 'hint' });
  });

  it('shows each message beside its field on the register form', async () => {
    const server = fakeFetch({
      'POST /api/auth/refresh': () => json(401, problem(401, 'no session')),
      'POST /api/auth/register': () =>
        invalid([
          { field: 'email', message: 'Not an email address.' },
          { field: 'password', message: 'Must be at least 8 characters.' },
        ]),
    });
    const api = createApi(BASE, server.fetch);
    api.session.signedOut();
    const person = userEvent.setup();
    renderWithApp(<RegisterPage />, { api, route: '/register', path: '/register' });
    await person.type(screen.getByLabelText('Name'), 'Ada');
    await person.type(screen.getByLabelText('Email'), 'ada@');
    await person.type(screen.getByLabelText('Password'), 'longer-than-any-minimum');
    await person.click(screen.getByRole('button', { name: 'Create account' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Please correct the marked fields.');
    expectFieldError(screen.getByLabelText('Email'), 'Not an email address.');
    expectFieldError(screen.getByLabelText('Password'), 'Must be at least 8 characters.');
    expect(screen.getByLabelText('Name')).not.toHaveAttribute('aria-invalid');
  });

  it('shows each message beside its field on the new-ticket form, and lists the rest', async () => {
    const server = fakeFetch({
      'POST /api/tickets': () =>
        invalid([
          { field: 'subject', message: 'Must be 1 to 200 characters.' },
          { field: 'flavour', message: 'Unknown field.' },
        ]),
    });
    const api = signedInApi(server.fetch);
    const person = userEvent.setup();
    renderWithApp(<NewTicketPage />, { api, route: '/tickets/new', path: '/tickets/new' });
    await person.type(screen.getByLabelText('Subject'), 'Printer');
    await person.click(screen.getByRole('button', { name: 'Create ticket' }));

    const alert = await screen.findByRole('alert');
    expectFieldError(screen.getByLabelText('Subject'), 'Must be 1 to 200 characters.');
    expect(alert).toHaveTextContent('flavour: Unknown field.');
    expect(screen.getByLabelText('Description')).not.toHaveAttribute('aria-invalid');
  });

  it('shows a comment error beside the reply box', async () => {
    const ticket = {
      id: 't-1', subject: 'VPN', description: '', status: 'open', priority: 'normal', requester_id: 'u-1',
      assignee_id: null, version: 1, created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-01T00:00:00Z',
    };
    const empty = { items: [], next_cursor: null };
    const server = fakeFetch({
      'GET /api/tickets/t-1': () => json(200, ticket),
      'GET /api/tickets/t-1/comments': () => json(200, empty),
      'GET /api/tickets/t-1/events': () => json(200, empty),
      'GET /api/tickets/t-1/attachments': () => json(200, empty),
      'POST /api/tickets/t-1/comments': () => invalid([{ field: 'body', message: 'Must be at most 20000 characters.' }]),
    });
    const api = signedInApi(server.fetch, user({ id: 'u-1' }));
    const person = userEvent.setup();
    renderWithApp(<TicketDetailPage />, { api, route: '/tickets/t-1', path: '/tickets/:id' });
    await person.type(await screen.findByLabelText('Reply'), 'Hello');
    await person.click(screen.getByRole('button', { name: 'Send reply' }));
    await screen.findByText('Must be at most 20000 characters.');
    expectFieldError(screen.getByLabelText('Reply'), 'Must be at most 20000 characters.');
  });
});

describe('the ticket edit form', () => {
  it('sends only what changed, with the version, and shows a 422 beside the field', async () => {
    const ticket = {
      id: 't-1', subject: 'VPN', description: 'Drops.', status: 'open', priority: 'normal', requester_id: 'u-1',
      assignee_id: null, version: 4, created_at: '2025-01-01T00:00:00Z', updated_at: '2025-01-01T00:00:00Z',
    };
    const empty = { items: [], next_cursor: null };
    const server = fakeFetch({
      'GET /api/tickets/t-1': () => json(200, ticket),
      'GET /api/tickets/t-1/comments': () => json(200, empty),
      'GET /api/tickets/t-1/events': () => json(200, empty),
      'GET /api/tickets/t-1/attachments': () => json(200, empty),
      'PATCH /api/tickets/t-1': [
        invalid([{ field: 'subject', message: 'Must be 1 to 200 characters.' }]),
        json(200, { ...ticket, subject: 'VPN drops hourly', version: 5 }),
      ],
    });
    const api = signedInApi(server.fetch, user({ id: 'u-1' }));
    const person = userEvent.setup();
    renderWithApp(<TicketDetailPage />, { api, route: '/tickets/t-1', path: '/tickets/:id' });
    await person.click(await screen.findByRole('button', { name: 'Edit subject and description' }));
    const subject = screen.getByLabelText('Subject');
    await person.clear(subject);
    await person.type(subject, 'VPN drops hourly');
    await person.click(screen.getByRole('button', { name: 'Save changes' }));
    await screen.findByText('Must be 1 to 200 characters.');
    expectFieldError(screen.getByLabelText('Subject'), 'Must be 1 to 200 characters.');
    expect(screen.getByLabelText('Description')).not.toHaveAttribute('aria-invalid');

    await person.click(screen.getByRole('button', { name: 'Save changes' }));
    expect(await screen.findByRole('heading', { name: 'VPN drops hourly' })).toBeInTheDocument();
    const sent = server.callsTo('PATCH /api/tickets/t-1');
    expect(sent[1]!.headers.get('If-Match')).toBe('4');
    expect(await sent[1]!.json()).toEqual({ subject: 'VPN drops hourly' });
  });
});

describe('limits from the documents', () => {
  it('come from the generated requestLimits', () => {
    expect(limitsOf('POST /api/tickets/{id}/attachments', 'file').maxItems).toBe(5);
    expect(Object.keys(requestLimits)).toContain('POST /api/auth/register');
    expect(limitsOf('POST /api/tickets', 'priority').enum).toEqual(['low', 'normal', 'high', 'urgent']);
  });

  it('are said and checked in words', () => {
    expect(lengthHint({ minLength: 8, maxLength: 256 })).toBe('8–256 characters.');
    expect(lengthHint({ minLength: 1, maxLength: 200 })).toBe('Up to 200 characters.');
    expect(lengthHint({ minLength: 8 })).toBe('At least 8 characters.');
    expect(lengthHint({})).toBeNull();
    expect(lengthProblem('short', { minLength: 8 })).toBe('Must be at least 8 characters.');
    expect(lengthProblem('', { minLength: 8 })).toBeNull();
    expect(lengthProblem('x'.repeat(201), { maxLength: 200 })).toBe('Must be at most 200 characters.');
  });
});
