// A view that is planned but not built yet: it says so and calls nothing.
export function Placeholder({ title, plan }: { title: string; plan: string }) {
  return (
    <section aria-labelledby="placeholder-title" className="placeholder">
      <h2 id="placeholder-title">{title}</h2>
      <p>
        <strong>Not built yet.</strong> {plan}
      </p>
    </section>
  );
}
