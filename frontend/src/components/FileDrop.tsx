//! Choosing files: a drop zone that also works as a button (the real file input inside it
//! keeps keyboard and screen-reader use), and the list of chosen files with a progress bar
//! per file.
import { useId, useState, type DragEvent } from 'react';
import { ACCEPT_ATTRIBUTE, ALLOWED_TYPES, UPLOAD_LIMIT, formatBytes } from '../api/problem';
import type { UploadItem } from '../lib/useUploads';
import { MAX_FILES } from '../lib/useUploads';
import { ErrorMessage } from './Feedback';

export function FileDrop({ onFiles, disabled, label = 'Attach files' }: { onFiles: (files: File[]) => void; disabled?: boolean; label?: string }) {
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
        accept={ACCEPT_ATTRIBUTE}
        disabled={disabled}
        aria-describedby={hintId}
        className="visually-hidden-input"
        onChange={(e) => {
          const files = Array.from(e.target.files ?? []);
          e.target.value = '';
          if (files.length) onFiles(files);
        }}
      />
      <p id={hintId} className="hint">
        {ALLOWED_TYPES.join(', ')} · up to {UPLOAD_LIMIT} each{MAX_FILES !== undefined ? ` · ${MAX_FILES} files at a time` : ''}
      </p>
    </div>
  );
}

export function UploadList({ items, onRemove }: { items: UploadItem[]; onRemove?: (key: string) => void }) {
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
              </span>
              {onRemove && item.status !== 'uploading' && item.status !== 'done' ? (
                <button type="button" className="icon-button" onClick={() => onRemove(item.key)} aria-label={`Remove ${item.file.name}`}>
                  ×
                </button>
              ) : null}
            </div>
            {item.status !== 'queued' ? (
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
            {item.status === 'failed' ? <ErrorMessage error={item.error} /> : null}
          </li>
        );
      })}
    </ul>
  );
}
