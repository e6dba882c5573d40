/**
 * A member's whole result for one interval, as `EnergyMarket.MemberSettled` reports it: the
 * one shape the auditor, the demo report, the CLI bill and the web app read.
 */
export interface MemberSettlement {
  member: string;
  selfSupplyWh: bigint;
  soldWh: bigint;
  boughtWh: bigint;
  gridExportWh: bigint;
  gridImportWh: bigint;
  paidCredits: bigint;
  receivedCredits: bigint;
}
