// PLACEHOLDER written by ui-shell so the app builds; the page's owner replaces this file.
import type { JSX } from "preact";

export default function Page(): JSX.Element {
  return (
    <section class="page">
      <h1>Explore</h1>
      <p class="empty">This page is being built.</p>
    </section>
  );
}
