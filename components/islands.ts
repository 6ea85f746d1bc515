/** Server-side wrappers of every island; pages render these, never the raw island components. */
import { island } from "./island.tsx";
import ProfileEditorComponent, { type ProfileEditorProps } from "@/islands/ProfileEditor.tsx";

/** The profile editor (islands/ProfileEditor.tsx). */
export const ProfileEditor = island<ProfileEditorProps>("ProfileEditor", ProfileEditorComponent);

import OnlineMembersComponent, { type OnlineMembersProps } from "@/islands/OnlineMembers.tsx";

/** Who is online (islands/OnlineMembers.tsx). */
export const OnlineMembers = island<OnlineMembersProps>("OnlineMembers", OnlineMembersComponent);

import RealtimeStatsComponent, { type RealtimeStatsProps } from "@/islands/RealtimeStats.tsx";

/** Live realtime figures for admins (islands/RealtimeStats.tsx). */
export const RealtimeStats = island<RealtimeStatsProps>("RealtimeStats", RealtimeStatsComponent);

import NotificationBellComponent, { type NotificationBellProps } from "@/islands/NotificationBell.tsx";

/** The notification bell in the header (islands/NotificationBell.tsx). */
export const NotificationBell = island<NotificationBellProps>("NotificationBell", NotificationBellComponent);

import DeviceChannelsComponent, { type DeviceChannelsProps } from "@/islands/DeviceChannels.tsx";

/** Push, phone and test controls on the notification settings page (islands/DeviceChannels.tsx). */
export const DeviceChannels = island<DeviceChannelsProps>("DeviceChannels", DeviceChannelsComponent);

import ChatAppComponent, { type ChatAppProps } from "@/islands/ChatApp.tsx";

/** The chat page: rooms, messages, live updates (islands/ChatApp.tsx). */
export const ChatApp = island<ChatAppProps>("ChatApp", ChatAppComponent);

import RsvpPanelComponent, { type RsvpPanelProps } from "@/islands/RsvpPanel.tsx";

/** Going / Maybe / Can't go with live seat counts on an event page (islands/RsvpPanel.tsx). */
export const RsvpPanel = island<RsvpPanelProps>("RsvpPanel", RsvpPanelComponent);

import CheckinScannerComponent, { type CheckinScannerProps } from "@/islands/CheckinScanner.tsx";

/** Camera check-in on the organizer's check-in page (islands/CheckinScanner.tsx). */
export const CheckinScanner = island<CheckinScannerProps>("CheckinScanner", CheckinScannerComponent);

import RsvpChartComponent, { type RsvpChartProps } from "@/islands/RsvpChart.tsx";

/** The RSVP timeline chart on the organizer dashboard (islands/RsvpChart.tsx). */
export const RsvpChart = island<RsvpChartProps>("RsvpChart", RsvpChartComponent);

import OrderTrackerComponent, { type OrderTrackerProps } from "@/islands/OrderTracker.tsx";

/** The live order map with ETA, timeline and chat (islands/OrderTracker.tsx). */
export const OrderTracker = island<OrderTrackerProps>("OrderTracker", OrderTrackerComponent);

import PartnerConsoleComponent, { type PartnerConsoleProps } from "@/islands/PartnerConsole.tsx";

/** The partner's orders and location streaming (islands/PartnerConsole.tsx). */
export const PartnerConsole = island<PartnerConsoleProps>("PartnerConsole", PartnerConsoleComponent);

import DispatchBoardComponent, { type DispatchBoardProps } from "@/islands/DispatchBoard.tsx";

/** Every active partner and open order on one map (islands/DispatchBoard.tsx). */
export const DispatchBoard = island<DispatchBoardProps>("DispatchBoard", DispatchBoardComponent);

import AnalyticsDashboardComponent, { type AnalyticsDashboardProps } from "@/islands/AnalyticsDashboard.tsx";

/** The analytics dashboard's charts, range and section switching (islands/AnalyticsDashboard.tsx). */
export const AnalyticsDashboard = island<AnalyticsDashboardProps>(
  "AnalyticsDashboard",
  AnalyticsDashboardComponent,
);

import LiveCountersComponent, { type LiveCountersProps } from "@/islands/LiveCounters.tsx";

/** Live counters over `admin:live` (islands/LiveCounters.tsx). */
export const LiveCounters = island<LiveCountersProps>("LiveCounters", LiveCountersComponent);

import ReportWorkbenchComponent, { type ReportWorkbenchProps } from "@/islands/ReportWorkbench.tsx";

/** The SQL report editor, runner, results table and chart (islands/ReportWorkbench.tsx). */
export const ReportWorkbench = island<ReportWorkbenchProps>("ReportWorkbench", ReportWorkbenchComponent);
