// Dashboards: the list (/dashboards) and one dashboard (/dashboards/<uid>?from&to&refresh&var-x).
import type { JSX } from "preact";
import { segments } from "../../lib/url";
import { DashboardList } from "./List";
import { DashboardView } from "./View";

export default function Page(): JSX.Element {
  const uid = segments.value[1];
  return uid ? <DashboardView key={uid} uid={uid} /> : <DashboardList />;
}
