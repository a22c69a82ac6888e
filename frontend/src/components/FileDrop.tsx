/**
 * Choosing files: a drop zone that also works as a button (the real file input inside it
 * keeps keyboard and screen-reader use), and the list of chosen files with a progress bar
 * per file. What files may be (the input's `accept`, the hint, the reasons a file is refused)
 * comes from the service's upload policy (`useUploads().policy`); until it is known the
 * input takes anything and the server says what it refuses.
 */
import { useId, useState, type DragEvent } from 'react';
import { formatBytes } from '../api/problem';
import { acceptAttribute, describeUploadError, policyHint, type UploadPolicy } from '../api/uploadPolicy';
import type { UploadItem } from '../lib/useUploads';
import { ErrorMessage } from './Feedback';

export function FileDrop({
  onFiles,
  disabled,
  label = 'Attach files',
  policy,
}: {
  onFiles: (files: File[]) => void;
  disabled?: boolean;
  label?: string;
  policy?: UploadPolicy;
}) {
  const [over, setOver] = useState(false);
  const inputId = useId();
  const hintId = useId();

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    if (disabled) return;
    const files = Array.from(event.dataTransfer.files);
    if (files.length) onFiles(files);
  };

  return (
    <div
      className={`dropzone${over ? ' dropzone-over' : ''}${disabled ? ' dropzone-disabled' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        if (!disabled) setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
      data-testid="dropzone"
    >
      <svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" className="dropzone-icon">
        <path d="M12 16V4m0 0-4 4m4-4 4 4M4 16v3a1 1 0 0 0 1 1h14a1 1 0 0 0 1-1v-3" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" />
      </svg>
      <label htmlFor={inputId} className="dropzone-label">
        <span className="link-like">{label}</span> or drag them here
      </label>
      <input
        id={inputId}
        type="file"
        multiple
        accept={policy ? acceptAttribute(policy) : undefined}
        disabled={disabled}
        aria-describedby={policy ? hintId : undefined}
        className="visually-hidden-input"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
      {policy ? (
        <p id={hintId} className="hint">
          {policyHint(policy)}
        </p>
      ) : null}
    </div>
  );
}

export function UploadList({
  items,
  onRemove,
  policy,
}: {
  items: UploadItem[];
  onRemove?: (key: string) => void;
  policy?: UploadPolicy;
}) {
  const describe = (error: unknown) => describeUploadError(error, policy);
  if (items.length === 0) return null;
  return (
    <ul className="upload-list" aria-label="Files to upload">
      {items.map((item) => {
        const percent = Math.round(item.progress * 100);
        return (
          <li key={item.key} className={`upload upload-${item.status}`}>
            <div className="upload-row">
              <span className="upload-name">{item.file.name}</span>
              <span className="upload-size">{formatBytes(item.file.size)}</span>
              <span className="upload-state" aria-live="polite">
                {item.status === 'queued' && 'Ready'}
                {item.status === 'uploading' && `${percent}%`}
                {item.status === 'done' && 'Uploaded'}
                {item.status === 'failed' && 'Failed'}
                {item.status === 'refused' && 'Not accepted'}
              </span>
              {onRemove && item.status !== 'uploading' && item.status !== 'done' ? (
                <button type="button" className="icon-button" onClick={() => onRemove(item.key)} aria-label={`Remove ${item.file.name}`}>
                  ×
                </button>
              ) : null}
            </div>
            {item.status !== 'queued' && item.status !== 'refused' ? (
              <div
                className="progress"
                role="progressbar"
                aria-label={`Upload of ${item.file.name}`}
                aria-valuemin={0}
                aria-valuemax={100}
                aria-valuenow={percent}
              >
                <div className="progress-bar" style={{ width: `${percent}%` }} />
              </div>
            ) : null}
            {item.status === 'failed' || item.status === 'refused' ? <ErrorMessage error={item.error} describe={describe} /> : null}
          </li>
        );
      })}
    </ul>
  );
}
