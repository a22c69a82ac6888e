import { fireEvent, render, screen } from '@testing-library/react';
import { FileDrop, UploadList } from './FileDrop';
import { apiError } from '../api/problem';

describe('<FileDrop>', () => {
  it('takes dropped files and highlights while something is dragged over', () => {
    const onFiles = vi.fn();
    render(<FileDrop onFiles={onFiles} />);
    const zone = screen.getByTestId('dropzone');
    const file = new File(['%PDF-1.4'], 'invoice.pdf', { type: 'application/pdf' });

    fireEvent.dragOver(zone, { dataTransfer: { files: [file] } });
    expect(zone).toHaveClass('dropzone-over');
    fireEvent.drop(zone, { dataTransfer: { files: [file] } });

    expect(zone).not.toHaveClass('dropzone-over');
    expect(onFiles).toHaveBeenCalledWith([file]);
  });

  it('ignores drops while disabled', () => {
    const onFiles = vi.fn();
    render(<FileDrop onFiles={onFiles} disabled />);
    fireEvent.drop(screen.getByTestId('dropzone'), { dataTransfer: { files: [new File(['x'], 'a.png')] } });
    expect(onFiles).not.toHaveBeenCalled();
  });
});

describe('<UploadList>', () => {
  it('shows a labelled progress bar per file and the reason a file failed', () => {
    const file = (name: string) => new File(['x'], name);
    render(
      <UploadList
        items={[
          { key: 'a', file: file('a.png'), progress: 0.42, status: 'uploading' },
          { key: 'b', file: file('b.exe'), progress: 0.1, status: 'failed', error: apiError(415, { detail: 'nope' }) },
          { key: 'c', file: file('c.gif'), progress: 0, status: 'queued' },
        ]}
      />,
    );
    expect(screen.getByRole('progressbar', { name: 'Upload of a.png' })).toHaveAttribute('aria-valuenow', '42');
    expect(screen.getByText('42%')).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('This file type is not allowed.');
    // Queued files have no bar yet.
    expect(screen.queryByRole('progressbar', { name: 'Upload of c.gif' })).not.toBeInTheDocument();
  });
});
