export function App() {
  return <h1>Counsel</h1>;
}
