import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { uploadAttachment } from './upload';
import { ApiError, describeError } from './problem';
import { describeUploadError } from './uploadPolicy';
import { NewTicketPage } from '../pages/NewTicket';
import { FakeXHR } from '../test/fakeXhr';
import { auth, BASE, fakeFetch, json, problem, renderWithApp, signedInApi, uploadPolicy } from '../test/utils';

const attachment = {
  id: 'a-1',
  ticket_id: 't-1',
  filename: 'shot.png',
  content_type: 'image/png',
  size: 4,
  uploaded_by: 'u-1',
  created_at: '2025-01-01T00:00:00Z',
};
const ticket = {
  id: 't-1',
  subject: 'Printer',
  description: 'It is on fire',
  status: 'open',
  priority: 'normal',
  requester_id: 'u-1',
  assignee_id: null,
  version: 1,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
};
const png = (name = 'shot.png') => new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], name, { type: 'image/png' });

beforeEach(() => {
  FakeXHR.reset();
  vi.stubGlobal('XMLHttpRequest', FakeXHR);
});
afterEach(() => vi.unstubAllGlobals());

describe('uploadAttachment', () => {
  it('reports progress, sends the file as field `file` with the token, and ends at 100%', async () => {
    const api = signedInApi(fakeFetch({}).fetch);
    const seen: number[] = [];
    const done = uploadAttachment({ baseUrl: BASE, session: api.session, ticketId: 't-1', file: png(), onProgress: (f) => seen.push(f) });
    const xhr = FakeXHR.last();
    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe(`${BASE}/api/tickets/t-1/attachments`);
    expect(xhr.headers.Authorization).toBe('Bearer tok-1');
    expect((xhr.body as FormData).get('file')).toBeInstanceOf(File);
    xhr.progress(2, 4);
    xhr.progress(4, 4);
    xhr.respond(201, [attachment]);
    await expect(done).resolves.toEqual([attachment]);
    // Bytes sent is not "stored": 100% only comes with the server's answer.
    expect(seen).toEqual([0, 0.5, 0.99, 1]);
  });

  it('refreshes on 401 and retries once', async () => {
    const server = fakeFetch({ 'POST /api/auth/refresh': [json(200, auth('tok-2'))] });
    const api = signedInApi(server.fetch);
    const done = uploadAttachment({ baseUrl: BASE, session: api.session, ticketId: 't-1', file: png() });
    FakeXHR.last().respond(401, problem(401, 'expired'));
    await waitFor(() => expect(FakeXHR.instances).toHaveLength(2));
    expect(FakeXHR.last().headers.Authorization).toBe('Bearer tok-2');
    FakeXHR.last().respond(201, [attachment]);
    await expect(done).resolves.toHaveLength(1);
  });

  it('turns 413, 415 and 429 into sentences a person can act on', async () => {
    const api = signedInApi(fakeFetch({}).fetch);
    const attempt = async (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const p = uploadAttachment({ baseUrl: BASE, session: api.session, ticketId: 't-1', file: png() });
      FakeXHR.last().respond(status, body, headers);
      return p.catch((e: unknown) => e);
    };
    const tooBig = await attempt(413, problem(413, 'file exceeds the limit of 10485760 bytes'));
    expect(tooBig).toBeInstanceOf(ApiError);
    expect(describeError(tooBig)).toBe('File too large (limit 10 MiB per file).');
    expect(describeUploadError(await attempt(415, problem(415, 'type not allowed')), uploadPolicy())).toBe(
      'This file type is not allowed. Allowed types: JPEG, PNG, GIF, PDF, DOC, DOCX, XLS, XLSX.',
    );
    expect(describeError(await attempt(429, problem(429, 'slow down'), { 'Retry-After': '120' }))).toBe(
      'Too many requests. Please try again in 2 minutes.',
    );
  });
});

describe('new ticket with attachments', () => {
  it('creates the ticket, shows the progress bar of each file, then opens the ticket', async () => {
    const server = fakeFetch({ 'POST /api/tickets': () => json(201, ticket) });
    const api = signedInApi(server.fetch);
    const person = userEvent.setup();
    renderWithApp(<NewTicketPage />, { api, route: '/tickets/new', path: '/tickets/new' });

    await person.type(screen.getByLabelText('Subject'), 'Printer');
    await person.type(screen.getByLabelText('Description'), 'It is on fire');
    await person.upload(screen.getByLabelText(/attach files/i), png());
    expect(screen.getByText('shot.png')).toBeInTheDocument();
    await person.click(screen.getByRole('button', { name: 'Create ticket' }));

    await waitFor(() => expect(FakeXHR.instances).toHaveLength(1));
    expect(await server.callsTo('POST /api/tickets')[0]!.json()).toEqual({
      subject: 'Printer',
      description: 'It is on fire',
      priority: 'normal',
    });
    const bar = screen.getByRole('progressbar', { name: 'Upload of shot.png' });
    act(() => FakeXHR.last().progress(1, 4));
    expect(bar).toHaveAttribute('aria-valuenow', '25');
    act(() => FakeXHR.last().progress(4, 4));
    expect(bar).toHaveAttribute('aria-valuenow', '99');
    act(() => FakeXHR.last().respond(201, [attachment]));
    // People see every file finished before the ticket opens.
    await waitFor(() => expect(bar).toHaveAttribute('aria-valuenow', '100'));
    expect(screen.getByText('Uploaded')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('location')).toHaveTextContent('/tickets/t-1'));
  });

  it('keeps the ticket and explains a rejected file next to it', async () => {
    const server = fakeFetch({
      'POST /api/tickets': () => json(201, ticket),
      'GET /api/attachments/policy': () => json(200, uploadPolicy()),
    });
    const person = userEvent.setup();
    renderWithApp(<NewTicketPage />, { api: signedInApi(server.fetch), route: '/tickets/new', path: '/tickets/new' });

    await person.type(screen.getByLabelText('Subject'), 'Printer');
    await person.upload(screen.getByLabelText(/attach files/i), png());
    await person.click(screen.getByRole('button', { name: 'Create ticket' }));
    await waitFor(() => expect(FakeXHR.instances).toHaveLength(1));
    act(() => FakeXHR.last().respond(415, problem(415, 'not allowed')));

    const upload = (await screen.findByText('Failed')).closest('li')!;
    expect(upload).toHaveTextContent('This file type is not allowed. Allowed types: JPEG, PNG');
    expect(screen.getByText(/your ticket was created/i)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Go to the ticket' })).toHaveAttribute('href', '/tickets/t-1');
  });
});

describe('the upload form and the service\'s upload policy', () => {
  // Not the defaults: whatever the form says and checks can only have come from this answer.
  const policy = uploadPolicy({
    max_file_bytes: 2048,
    max_files: 3,
    types: [
      { name: 'PNG', media_type: 'image/png', extensions: ['png'] },
      { name: 'PDF', media_type: 'application/pdf', extensions: ['pdf'] },
    ],
  });
  const routes = () => ({
    'POST /api/tickets': () => json(201, ticket),
    'GET /api/attachments/policy': () => json(200, policy),
  });
  const row = (name: string) => within(screen.getByRole('list', { name: 'Files to upload' })).getByText(name).closest('li')!;

  it('fetches the policy, signed in, and says it in the file input and the hint', async () => {
    const server = fakeFetch(routes());
    renderWithApp(<NewTicketPage />, { api: signedInApi(server.fetch), route: '/tickets/new', path: '/tickets/new' });

    const hint = await screen.findByText('PNG, PDF · up to 2 KiB each · 3 files at a time');
    const input = screen.getByLabelText(/attach files/i);
    expect(input).toHaveAttribute('accept', '.png,.pdf,image/png,application/pdf');
    expect(input).toHaveAttribute('aria-describedby', hint.id);
    const calls = server.callsTo('GET /api/attachments/policy');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.headers.get('Authorization')).toBe('Bearer tok-1');
  });

  it('refuses a file over the limit or of no listed type before sending it, and sends the rest', async () => {
    const server = fakeFetch(routes());
    const person = userEvent.setup();
    renderWithApp(<NewTicketPage />, { api: signedInApi(server.fetch), route: '/tickets/new', path: '/tickets/new' });
    await screen.findByText(/up to 2 KiB each/);

    await person.type(screen.getByLabelText('Subject'), 'Printer');
    // A drop is not filtered by `accept`: the form's own check is what stops these.
    const big = new File([new Uint8Array(2049)], 'big.png', { type: 'image/png' });
    const exact = new File([new Uint8Array(2048)], 'exact.pdf', { type: 'application/pdf' });
    const text = new File(['hello'], 'notes.txt', { type: 'text/plain' });
    fireEvent.drop(screen.getByTestId('dropzone'), { dataTransfer: { files: [big, text, exact] } });

    expect(row('big.png')).toHaveTextContent('Not accepted');
    expect(row('big.png')).toHaveTextContent('File too large (limit 2 KiB per file).');
    expect(row('notes.txt')).toHaveTextContent('This file type is not allowed. Allowed types: PNG, PDF.');
    expect(row('exact.pdf')).toHaveTextContent('Ready');

    await person.click(screen.getByRole('button', { name: 'Create ticket' }));
    await waitFor(() => expect(FakeXHR.instances).toHaveLength(1));
    expect((FakeXHR.last().body as FormData).get('file')).toHaveProperty('name', 'exact.pdf');
    act(() => FakeXHR.last().respond(201, [{ ...attachment, filename: 'exact.pdf' }]));

    // The refused files were never sent, so the ticket stays open on this page with them.
    expect(await screen.findByText(/some files were not uploaded/i)).toBeInTheDocument();
    expect(FakeXHR.instances).toHaveLength(1);
    expect(screen.queryByRole('button', { name: 'Retry failed uploads' })).not.toBeInTheDocument();
  });

  it('takes at most the policy\'s number of files at a time', async () => {
    const server = fakeFetch(routes());
    renderWithApp(<NewTicketPage />, { api: signedInApi(server.fetch), route: '/tickets/new', path: '/tickets/new' });
    await screen.findByText(/3 files at a time/);

    fireEvent.drop(screen.getByTestId('dropzone'), { dataTransfer: { files: [1, 2, 3, 4].map((i) => png(`${i}.png`)) } });
    expect(screen.getByText('You can attach up to 3 files at a time; 1 left out.')).toBeInTheDocument();
    expect(within(screen.getByRole('list', { name: 'Files to upload' })).getAllByRole('listitem')).toHaveLength(3);
  });

  it('leaves the checks to the server while the policy cannot be had', async () => {
    const server = fakeFetch({
      'POST /api/tickets': () => json(201, ticket),
      'GET /api/attachments/policy': () => json(503, problem(503, 'down')),
    });
    renderWithApp(<NewTicketPage />, { api: signedInApi(server.fetch), route: '/tickets/new', path: '/tickets/new' });
    await waitFor(() => expect(server.callsTo('GET /api/attachments/policy')).toHaveLength(1));

    const input = screen.getByLabelText(/attach files/i);
    expect(input).not.toHaveAttribute('accept');
    expect(screen.queryByText(/files at a time/)).not.toBeInTheDocument();
    fireEvent.drop(screen.getByTestId('dropzone'), { dataTransfer: { files: [new File(['hello'], 'notes.txt')] } });
    expect(row('notes.txt')).toHaveTextContent('Ready');
  });
});
