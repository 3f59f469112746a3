// Starts GraphiQL on the page /graphql serves to browsers (gateway/graphql/graphiql.html).
// Adapted from strawberry-graphql's graphiql.html (MIT), moved out of the page so that a
// Content-Security-Policy with `script-src 'self'` lets it run. React, ReactDOM, GraphiQL and
// GraphiQLPluginExplorer are the globals of the vendored UMD builds loaded before this file.
"use strict";

(function () {
  const EXAMPLE_QUERY = `# threatmap's GraphQL API. Anonymous callers read the anonymized public layer;
# officers send "Authorization": "Bearer <token>" in the headers below.
# Ctrl-Enter runs the query, Ctrl-Space completes.
{
  categories { id namePl nameEn colour }
  reports(first: 10) {
    totalCount
    edges { node { id status occurredOn category { nameEn } location { geojson } } }
  }
}
`;

  // The query, variables and headers are kept in the address, so that a query can be shared.
  const parameters = {};
  for (const entry of window.location.search.slice(1).split("&")) {
    const eq = entry.indexOf("=");
    if (eq >= 0) {
      parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
    }
  }

  function updateURL(data) {
    Object.assign(parameters, data);
    const search = Object.keys(parameters)
      .filter((key) => Boolean(parameters[key]))
      .map((key) => encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]))
      .join("&");
    history.replaceState(null, "", "?" + search);
  }

  const fetchURL = window.location.href.split("?")[0].split("#")[0];
  const subscriptionURL = new URL(fetchURL);
  subscriptionURL.protocol = subscriptionURL.protocol === "https:" ? "wss:" : "ws:";

  const fetcher = GraphiQL.createFetcher({ url: fetchURL, subscriptionUrl: subscriptionURL.toString() });
  const explorerPlugin = GraphiQLPluginExplorer.explorerPlugin();

  function GraphiQLWithExplorer() {
    const [query, setQuery] = React.useState(parameters.q || EXAMPLE_QUERY);
    const [variables, setVariables] = React.useState(parameters.variables);
    const [headers, setHeaders] = React.useState(parameters.headers);
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultEditorToolsVisibility: true,
      plugins: [explorerPlugin],
      query: query,
      variables: variables,
      headers: headers,
      onEditQuery: (value) => { setQuery(value); updateURL({ q: value }); },
      onEditVariables: (value) => { setVariables(value); updateURL({ variables: value }); },
      onEditHeaders: setHeaders,
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql"))
    .render(React.createElement(GraphiQLWithExplorer));
})();
