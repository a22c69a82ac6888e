import { Link } from 'react-router';
import { useTitle } from '../lib/useTitle';

export function NotFoundPage() {
  useTitle('Not found');
  return (
    <section className="page narrow" aria-labelledby="nf-title">
      <h1 id="nf-title" tabIndex={-1}>
        Page not found
      </h1>
      <p>
        There is nothing at this address. <Link to="/tickets">Go to your tickets</Link>.
      </p>
    </section>
  );
}
