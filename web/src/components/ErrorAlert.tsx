/** A refusal or failure in the service's words, announced at once (role="alert"); nothing when there is none. */
export function ErrorAlert({ message, id }: { message: string | null | undefined | false; id?: string }) {
  if (!message) return null;
  return (
    <p id={id} role="alert" className="error">
      {message}
    </p>
  );
}
