import { useEffect } from 'react';

/** Sets the document title for a page. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Docket` : 'Docket';
  }, [title]);
}
